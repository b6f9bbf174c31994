from django.urls import path

from . import pages

urlpatterns = [
    path("evaluation/", pages.evaluation_page, name="evaluation-page"),
    path("evaluation/unit/", pages.unit_page, name="evaluation-unit"),
    path("evaluation/report/", pages.unit_report_page, name="evaluation-unit-report"),
]
