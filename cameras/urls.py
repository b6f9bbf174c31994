"""API routes of cameras (under /api/v1/)."""

from django.urls import path

from . import api_events

urlpatterns = [
    path("camera-events", api_events.CameraEventView.as_view(), name="camera-events"),
    path(
        "cameras/<str:code>/heartbeat",
        api_events.CameraHeartbeatView.as_view(),
        name="camera-heartbeat",
    ),
]
