"""Public pages (群众上报): the report form ``/report/`` and the status page
``/report/<tracking>/``, for citizens without an account.

The form page sends the report to the public API (``POST /api/v1/public/reports``, rate-limited,
token-free JSON/multipart, with an Idempotency-Key made by the page); the status page is rendered
here from ``cases.public`` and takes the rating as a CSRF-protected form POST. Every public page
is rate-limited per client address like the public API look-ups.
"""

from itertools import groupby

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from gridmap.api import LookupThrottle
from gridmap.selectors import district_extent_wgs84
from layers.api import LayerQuery
from layers.registry import LAYERS
from layers.selectors import layer_geojson

from . import public
from .models import Category

#: Base geography the public map draws (never managed layers: no zones, holders or teams).
BASEMAP_LAYERS = ("district", "water", "roads", "buildings")


def _throttled(request: HttpRequest) -> HttpResponse | None:
    """The public API's look-up limit per client address, applied to a page; a 429 page when
    it is used up."""
    throttle = LookupThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = throttle.wait()
    response = render(
        request,
        "cases/public/message.html",
        {
            "title": _("Too many requests"),
            "message": _("Too many requests from your address: try again in a minute."),
        },
        status=429,
    )
    if wait:
        response["Retry-After"] = str(int(wait) + 1)
    return response


def category_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """Active categories in plain words (``public_name``), grouped by their major class:
    [(group label, [(code, plain name), …]), …]."""
    categories = Category.objects.filter(active=True).order_by("kind", "major_code", "minor_code")
    groups = []
    for (_kind, major), items in groupby(categories, key=lambda c: (c.kind, c.major_name)):
        groups.append((major, [(c.code, c.public_name or c.minor_name) for c in items]))
    return groups


def _form_config() -> dict:
    """What report.js needs: the map's extent and optional tiles, limits and its messages."""
    return {
        "extent": district_extent_wgs84(),
        "tileUrl": settings.GRIDMAP_TILE_URL,
        "tileAttribution": settings.GRIDMAP_TILE_ATTRIBUTION,
        "maxPhotoMb": settings.GRIDMAP_MAX_PHOTO_MB,
        "basemapUrl": reverse("public-basemap", args=["LAYER"]),
        "reportUrl": reverse("public-report"),
        "searchUrl": reverse("search"),
        "labels": {
            "chosen": _("Chosen: %(place)s"),
            "myLocation": _("your location (±%(m)s m)"),
            "mapPoint": _("the point on the map"),
            "noLocation": _("Tap the map, use your location or search an address."),
            "noCategory": _("Choose what kind of problem it is."),
            "gpsUnavailable": _("Your browser cannot tell your location: tap the map instead."),
            "gpsDenied": _("Your location could not be found: tap the map instead."),
            "locating": _("Finding your location…"),
            "searching": _("Searching…"),
            "noResults": _("No place found: try another name, or tap the map."),
            "searchFailed": _("The search did not answer: tap the map instead."),
            "photoTooLarge": _("This photo is %(size)s MB; a photo may have at most %(limit)s MB."),
            "notAPhoto": _("This file is not a photo."),
            "sending": _("Sending…"),
            "tooMany": _("Too many reports from your address: try again in a minute."),
            "failed": _("The report could not be sent. Check your connection and try again."),
            "fixFields": _("Please correct the fields marked below."),
        },
    }


@require_GET
def report_form(request: HttpRequest) -> HttpResponse:
    """``/report/``: pick a point (tap, GPS or address search), a category, describe, attach a
    photo, optionally leave an e-mail address or phone number; answered with a tracking number."""
    refused = _throttled(request)
    if refused:
        return refused
    return render(
        request,
        "cases/public/report.html",
        {"groups": category_groups(), "config": _form_config()},
    )


@require_GET
def report_find(request: HttpRequest) -> HttpResponse:
    """The "follow a report" box: to the status page of the tracking number typed."""
    tracking = request.GET.get("tracking", "").strip().upper()
    if not tracking:
        return redirect("public-report-form")
    return redirect("public-report-page", tracking=tracking)


def _not_found(request: HttpRequest, tracking: str) -> HttpResponse:
    return render(
        request,
        "cases/public/not_found.html",
        {"tracking": tracking[:40]},
        status=404,
    )


@require_http_methods(["GET", "POST"])
def report_status(request: HttpRequest, tracking: str) -> HttpResponse:
    """``/report/<tracking>/``: the stage in plain words, the public steps, what was done, the
    before/after photos; after closure a rating form (POST, once)."""
    refused = _throttled(request)
    if refused:
        return refused
    case = public.public_case(tracking)
    if case is None:
        return _not_found(request, tracking)
    if case.tracking != tracking:
        return redirect("public-report-page", tracking=case.tracking)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            public.public_rating_add(
                case=case,
                score=request.POST.get("score"),
                comment=request.POST.get("comment", ""),
            )
        except public.RatingRefused as exc:
            errors[exc.field] = exc.message
            status = exc.status
        else:
            return redirect(f"{reverse('public-report-page', args=[case.tracking])}?rated=1")
    view = public.public_view(case)
    return render(
        request,
        "cases/public/status.html",
        {
            "view": view,
            "errors": errors,
            "posted": request.POST if request.method == "POST" else {},
            "rated_now": request.GET.get("rated") == "1",
            "stars": range(1, 6),
        },
        status=status,
    )


@require_GET
def report_photo(request: HttpRequest, tracking: str, pk: int) -> FileResponse:
    """One public photo of the case (its EXIF-free copy); 404 for any other evidence."""
    case = public.public_case(tracking)
    item = public.public_photo(case, pk) if case is not None else None
    if item is None:
        raise Http404(_("No such photo of this report."))
    try:
        handle = item.thumbnail.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class PublicBasemapView(APIView):
    """The basemap of the public map (district outline, water, roads, buildings) as GeoJSON by
    ``bbox``: public geography only, rate-limited like the other public look-ups."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LookupThrottle]

    @extend_schema(exclude=True)
    def get(self, request, name: str) -> HttpResponse:
        if name not in BASEMAP_LAYERS:
            raise NotFound(_("There is no public layer named %(name)r.") % {"name": name})
        query = LayerQuery(data=request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        body = layer_geojson(LAYERS[name], user=None, bbox=query.validated_data.get("bbox"))
        response = HttpResponse(body, content_type="application/geo+json")
        response["Cache-Control"] = "public, max-age=300"
        return response
