"""Pages of cameras (under /wall/): the video wall."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:code>/", views.wall_page, name="wall-page"),
]
