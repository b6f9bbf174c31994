"""Pages of the backbone: the home redirect, the district map and a health check."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from layers.registry import LAYERS

from .models import Building, PointOfInterest, ResponsibilityZone, Road, Team, UnitGrid, Water
from .navigation import landing_url, page_required
from .selectors import district_extent_wgs84


def home(request: HttpRequest) -> HttpResponse:
    """Send each user to the page of their role (gridmap/navigation.py)."""
    if not request.user.is_authenticated:
        return redirect("login")
    url = landing_url(request.user)
    if url is None:
        raise PermissionDenied(_("This account has no pages: devices use the API."))
    return redirect(url)


@page_required("map")
def district_map(request: HttpRequest) -> HttpResponse:
    """The district on a Leaflet map: areas, zones, base geography and teams, all served locally."""
    return render(request, "gridmap/map.html", {"map_config": _map_config()})


def _choice_labels(*choice_classes) -> dict[str, str]:
    labels: dict[str, str] = {}
    for choices in choice_classes:
        labels.update({value: str(label) for value, label in choices.choices})
    return labels


def _map_config() -> dict:
    """What the map script needs: the extent, an optional tile URL and its translated labels."""
    return {
        "extent": district_extent_wgs84(),
        "tileUrl": settings.GRIDMAP_TILE_URL,
        "tileAttribution": settings.GRIDMAP_TILE_ATTRIBUTION,
        "labels": {
            "legend": _("Legend"),
            "loading": _("Loading…"),
            "none": _("none"),
            "layers": {name: str(layer.title) for name, layer in LAYERS.items()},
            "fields": {
                "code": _("Code"),
                "name": _("Name"),
                "kind": _("Kind"),
                "holder": _("Holder"),
                "contact": _("Contact"),
                "status": _("Status"),
                "department": _("Department"),
                "address": _("Address"),
                "condition": _("Condition"),
                "class": _("Class"),
                "position_at": _("Position at"),
                "permit_no": _("Permit number"),
                "permit_from": _("Permit from"),
                "permit_to": _("Permit to"),
                "contractor": _("Contractor"),
                "land_use": _("Land use"),
                "area_m2": _("Area"),
                "community": _("Community"),
                "subdistrict": _("Subdistrict"),
                "grid_code": _("Grid code"),
                "zones": _("Zones"),
            },
            "values": _choice_labels(
                ResponsibilityZone.Kind,
                Road.RoadClass,
                PointOfInterest.Kind,
                Team.Status,
                Team.Kind,
                UnitGrid.LandUse,
                Building.Use,
                Water.Kind,
            ),
        },
    }


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for `make run` and load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})
