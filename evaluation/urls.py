from django.urls import path

from . import api

urlpatterns = [
    path("evaluation", api.EvaluationView.as_view(), name="evaluation"),
    path("evaluation/trend", api.TrendView.as_view(), name="evaluation-trend"),
    path(
        "evaluation/report.xlsx", api.MonthlyReportView.as_view(), name="evaluation-monthly-report"
    ),
]
