"""Public pages under ``/report/`` (no login): the report form, the status page, its photos."""

from django.urls import path

from . import public_pages

urlpatterns = [
    path("", public_pages.report_form, name="public-report-form"),
    path("find", public_pages.report_find, name="public-report-find"),
    path("basemap/<slug:name>", public_pages.PublicBasemapView.as_view(), name="public-basemap"),
    path("<str:tracking>/", public_pages.report_status, name="public-report-page"),
    path("<str:tracking>/photos/<int:pk>", public_pages.report_photo, name="public-report-photo"),
]
