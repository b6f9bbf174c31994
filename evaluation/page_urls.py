from django.urls import path

from . import pages

urlpatterns = [path("evaluation/", pages.evaluation_page, name="evaluation-page")]
