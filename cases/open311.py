"""Open311 GeoReport v2 (``/open311/v2/``): the citizens' report intake for apps that speak the
standard — the same intake, idempotency and rate limits as ``/report/``.

Endpoints, each as ``.json`` or ``.xml``: ``GET services`` (the categories in plain words),
``GET services/<service_code>`` (a service definition: we ask for no extra attributes),
``POST requests`` (a new request; answers its ``service_request_id``, our tracking number) and
``GET requests/<service_request_id>``. Errors follow the standard: a list of ``{code,
description}`` with the HTTP status (400 bad input, 404 unknown, 409 a reused key, 422 outside
the district or an unknown service, 429 over the rate limit). No API key is needed: reports
are anonymous, as on the public page; the request carries no cookie authentication, so it is
CSRF-exempt.
"""

from xml.etree import ElementTree

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework import serializers

from gridmap.api import LookupThrottle

from . import public
from .api import ReportThrottle
from .evidence import EvidenceRejected
from .models import Case, Category
from .serializers import LocationInput
from .services import IntakeError

FORMATS = ("json", "xml")


# --- rendering ----------------------------------------------------------------------------------


def _xml(root: str, item: str, rows: list[dict]) -> bytes:
    top = ElementTree.Element(root)
    for row in rows:
        element = ElementTree.SubElement(top, item)
        for key, value in row.items():
            child = ElementTree.SubElement(element, key)
            if isinstance(value, list):
                for entry in value:
                    ElementTree.SubElement(child, key.rstrip("s") or key).text = str(entry)
            elif value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)


def _answer(fmt: str, root: str, item: str, rows: list[dict], *, status: int = 200):
    if fmt == "xml":
        return HttpResponse(
            _xml(root, item, rows), content_type="text/xml; charset=utf-8", status=status
        )
    return JsonResponse(rows, safe=False, status=status, json_dumps_params={"ensure_ascii": False})


def _error(fmt: str, status: int, *messages: str) -> HttpResponse:
    rows = [{"code": status, "description": m} for m in messages]
    return _answer(fmt, "errors", "error", rows, status=status)


def _format_or_404(fmt: str):
    return None if fmt in FORMATS else _error("json", 404, _("Formats: json or xml."))


def _throttled(request: HttpRequest, throttle_class, fmt: str) -> HttpResponse | None:
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    response = _error(fmt, 429, _("Too many requests from your address: try again in a minute."))
    wait = throttle.wait()
    if wait:
        response["Retry-After"] = str(int(wait) + 1)
    return response


# --- services -----------------------------------------------------------------------------------


def service_json(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.public_name or category.minor_name,
        "description": category.filing_criterion,
        "metadata": False,
        "type": "realtime",
        "keywords": category.minor_name,
        "group": category.major_name,
    }


@require_GET
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    """``GET services.(json|xml)``: every active category as a service."""
    refused = _format_or_404(fmt) or _throttled(request, LookupThrottle, fmt)
    if refused:
        return refused
    rows = [
        service_json(c)
        for c in Category.objects.filter(active=True).order_by("kind", "major_code", "minor_code")
    ]
    return _answer(fmt, "services", "service", rows)


@require_GET
def service_definition(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """``GET services/<code>.(json|xml)``: no extra attributes are asked for any service."""
    refused = _format_or_404(fmt) or _throttled(request, LookupThrottle, fmt)
    if refused:
        return refused
    if not Category.objects.filter(code=code, active=True).exists():
        return _error(fmt, 404, _("There is no service %(code)r.") % {"code": code})
    if fmt == "xml":
        top = ElementTree.Element("service_definition")
        ElementTree.SubElement(top, "service_code").text = code
        ElementTree.SubElement(top, "attributes")
        body = ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)
        return HttpResponse(body, content_type="text/xml; charset=utf-8")
    return JsonResponse({"service_code": code, "attributes": []})


# --- requests -----------------------------------------------------------------------------------


class RequestInput(serializers.Serializer):
    """POST requests: the standard's fields (``lat``/``long`` in WGS-84, or ``address_string``
    is not enough here: a point is required)."""

    service_code = serializers.CharField(max_length=12)
    lat = serializers.FloatField()
    long = serializers.FloatField()
    address_string = serializers.CharField(required=False, allow_blank=True, max_length=300)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    media = serializers.FileField(required=False, allow_empty_file=False)

    def validate(self, attrs):
        place = LocationInput(data={"lon": attrs["long"], "lat": attrs["lat"]})
        if not place.is_valid():
            raise serializers.ValidationError(place.errors)
        return attrs


def _messages(errors, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [m for key, value in errors.items() for m in _messages(value, f"{key}")]
    if isinstance(errors, list):
        return [m for value in errors for m in _messages(value, prefix)]
    return [f"{prefix}: {errors}" if prefix else str(errors)]


def request_json(case: Case) -> dict:
    """A case as an Open311 service request: what the public status page shows, no more."""
    view = public.public_view(case)
    done = [s for s in view.steps if s.done and s.at]
    point = case.geom.transform(4326, clone=True)
    photos = view.photos
    return {
        "service_request_id": case.tracking,
        "status": "open" if case.is_open else "closed",
        "status_notes": view.stage_label,
        "service_name": view.category,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": case.department.name if case.department_id else None,
        "service_notice": view.stage_help,
        "requested_datetime": case.reported_at.isoformat(),
        "updated_datetime": done[-1].at.isoformat() if done else case.reported_at.isoformat(),
        "expected_datetime": None,
        "address": case.address,
        "lat": round(point.y, 7),
        "long": round(point.x, 7),
        "media_url": (f"/report/{case.tracking}/photos/{photos[-1].id}" if photos else None),
    }


@csrf_exempt
@require_http_methods(["POST"])
def requests_create(request: HttpRequest, fmt: str) -> HttpResponse:
    """``POST requests.(json|xml)``: a new service request through the public intake."""
    refused = _format_or_404(fmt) or _throttled(request, ReportThrottle, fmt)
    if refused:
        return refused
    data = RequestInput(data={**request.POST.dict(), **request.FILES.dict()})
    if not data.is_valid():
        return _error(fmt, 400, *_messages(data.errors))
    d = data.validated_data
    try:
        checked = [public.public_upload_check(d["media"])] if d.get("media") else []
        taken = public.public_report_take(
            idempotency_key=request.headers.get("Idempotency-Key", "").strip()[:80],
            fingerprint=public.report_fingerprint(
                category=d["service_code"],
                lon=d["long"],
                lat=d["lat"],
                description=d.get("description", ""),
            ),
            category_code=d["service_code"],
            lon=d["long"],
            lat=d["lat"],
            srs=4326,
            description=d.get("description", ""),
            address=d.get("address_string", ""),
            contact_email=d.get("email", ""),
            contact_phone=d.get("phone", ""),
            checked_files=checked,
        )
    except EvidenceRejected as exc:
        return _error(fmt, 400, f"media: {exc}")
    except IntakeError as exc:
        return _error(fmt, exc.status, f"{exc.field}: {exc.message}")
    row = {
        "service_request_id": taken.case.tracking,
        "service_notice": _("Follow it at %(url)s") % {"url": public.status_url(taken.case)},
        "account_id": None,
    }
    status = 200 if taken.repeated else 201
    return _answer(fmt, "service_requests", "request", [row], status=status)


@require_GET
def request_detail(request: HttpRequest, tracking: str, fmt: str) -> HttpResponse:
    """``GET requests/<service_request_id>.(json|xml)``."""
    refused = _format_or_404(fmt) or _throttled(request, LookupThrottle, fmt)
    if refused:
        return refused
    case = public.public_case(tracking)
    if case is None:
        return _error(fmt, 404, _("No report with tracking number %(t)s.") % {"t": tracking})
    case = Case.objects.select_related("category", "department").get(pk=case.pk)
    return _answer(fmt, "service_requests", "request", [request_json(case)])
