"""Analysis API under /api/v1/analysis/: heatmap, hotspots, export, jobs, downloads."""

from django.urls import path

from . import api

urlpatterns = [
    path("analysis/heatmap", api.HeatmapView.as_view(), name="analysis-heatmap"),
    path("analysis/hotspots", api.HotspotsView.as_view(), name="analysis-hotspots"),
    path("analysis/export", api.ExportView.as_view(), name="analysis-export"),
    path("analysis/counts", api.CountsView.as_view(), name="analysis-counts"),
    path("analysis/jobs", api.JobListView.as_view(), name="analysis-jobs"),
    path("analysis/jobs/<uuid:pk>", api.JobDetailView.as_view(), name="analysis-job"),
    path("analysis/downloads/<str:token>", api.DownloadView.as_view(), name="analysis-download"),
]
