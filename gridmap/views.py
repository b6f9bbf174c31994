"""Pages of the backbone: the home redirect, the district map and a health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from .selectors import district_extent_wgs84


def home(request: HttpRequest) -> HttpResponse:
    """Send each user to their page (the district map until the role pages exist)."""
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect("map")


@login_required
def district_map(request: HttpRequest) -> HttpResponse:
    """The district on a Leaflet map: areas, zones, base geography and teams, all served locally."""
    return render(request, "gridmap/map.html", {"extent": district_extent_wgs84()})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for `make run` and load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})
