from django.urls import path

from . import views

urlpatterns = [
    path("<str:code>/", views.track_page, name="team-track-page"),
]
