"""API routes of cameras (under /api/v1/)."""

from django.urls import path

from . import api, api_coverage, api_events

urlpatterns = [
    path("coverage", api_coverage.CoverageView.as_view(), name="coverage"),
    path(
        "coverage/report/<str:fmt>",
        api_coverage.CoverageReportView.as_view(),
        name="coverage-report",
    ),
    path("blind-spots", api_coverage.BlindSpotView.as_view(), name="blind-spots"),
    path("cameras", api.CameraListView.as_view(), name="camera-list"),
    path("cameras/seeing", api.CamerasSeeingView.as_view(), name="cameras-seeing"),
    path("walls", api.WallListView.as_view(), name="wall-list"),
    path("walls/<str:code>", api.WallDetailView.as_view(), name="wall-detail"),
    path("walls/<str:code>/tiles", api.WallTileView.as_view(), name="wall-tiles"),
    path("walls/<str:code>/clear", api.WallClearView.as_view(), name="wall-clear"),
    path("walls/<str:code>/presets", api.WallPresetListView.as_view(), name="wall-presets"),
    path(
        "walls/<str:code>/presets/<str:name>/apply",
        api.WallPresetApplyView.as_view(),
        name="wall-preset-apply",
    ),
    path("walls/<str:code>/focus", api.WallFocusView.as_view(), name="wall-focus"),
    path("camera-events", api_events.CameraEventView.as_view(), name="camera-events"),
    path(
        "cameras/<str:code>/heartbeat",
        api_events.CameraHeartbeatView.as_view(),
        name="camera-heartbeat",
    ),
]
