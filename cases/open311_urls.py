"""Open311 GeoReport v2 under ``/open311/v2/`` (``.json`` or ``.xml``)."""

from django.urls import path

from . import open311

urlpatterns = [
    path("services.<slug:fmt>", open311.services, name="open311-services"),
    path("services/<str:code>.<slug:fmt>", open311.service_definition, name="open311-service"),
    path("requests.<slug:fmt>", open311.requests_create, name="open311-requests"),
    path("requests/<str:tracking>.<slug:fmt>", open311.request_detail, name="open311-request"),
]
