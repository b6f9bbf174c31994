from django.urls import path

from . import api

urlpatterns = [
    path("positions", api.PositionBatchView.as_view(), name="positions"),
    path("attendance", api.AttendanceView.as_view(), name="attendance"),
    path("teams/<str:code>/track", api.TeamTrackView.as_view(), name="team-track"),
]
