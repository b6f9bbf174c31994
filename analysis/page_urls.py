"""The planner page (规划分析) at /planner/."""

from django.urls import path

from . import pages

urlpatterns = [path("", pages.planner, name="planner-page")]
