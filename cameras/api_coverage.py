"""Coverage and blind spots for the map, and the coverage report as a download.

- ``GET /api/v1/coverage?level=grid|community|road[&bbox=]``: each unit grid, community or road
  segment with the share cameras see (GeoJSON, WGS-84);
- ``GET /api/v1/blind-spots[?bbox=]``: per unit grid, the area no viewshed covers;
- ``GET /api/v1/coverage/report/<csv|xlsx|html>``: the report (cameras/coverage_report.py).

Who: centre staff, the office head, planners and evaluators see the district; a community lead
only their community, and any user scoped to a community or subdistrict only that. Other roles
(field teams, department heads, devices): 403.
"""

import io
import json

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.views import APIView

from cases.selectors import DISTRICT_ROLES
from gridmap.models import User
from layers.api import BboxField

from .coverage import LEVELS, Coverage, Target, coverage_current, coverage_targets
from .coverage_report import CONTENT_TYPES, FORMATS, report_data, write_report

#: Roles that may read coverage (besides the district roles).
SCOPED_ROLES = {User.Role.COMMUNITY_LEAD}


def coverage_scope(user) -> dict:
    """``community_id`` / ``subdistrict_id`` limits for ``user`` (None: the whole district);
    PermissionDenied for roles that do not see coverage."""
    if user.role not in DISTRICT_ROLES and user.role not in SCOPED_ROLES:
        raise PermissionDenied(
            _("A %(role)s does not see camera coverage.") % {"role": user.get_role_display()}
        )
    if user.role == User.Role.COMMUNITY_LEAD and not user.community_id:
        raise PermissionDenied(_("Your account has no community assigned."))
    return {"community_id": user.community_id, "subdistrict_id": user.subdistrict_id}


class CoverageQuery(serializers.Serializer):
    level = serializers.ChoiceField(choices=LEVELS, default="grid")
    bbox = BboxField(required=False)


def _properties(level: str, t: Target) -> str:
    size_key, covered_key = (
        ("length_m", "covered_m") if level == "road" else ("area_m2", "covered_m2")
    )
    props = {
        "code": t.code,
        "name": t.name,
        "community": t.community_name,
        size_key: round(t.size, 1),
        covered_key: round(t.covered, 1),
        "coverage": round(t.fraction, 4),
    }
    if level == "grid":
        props["blind_m2"] = round(t.blind_m2, 1)
    return json.dumps(props, ensure_ascii=False)


def _feature_collection(coverage: Coverage, features: list[str]) -> HttpResponse:
    body = (
        '{"type":"FeatureCollection",'
        f'"version":"{coverage.version}","computed_at":"{coverage.computed_at.isoformat()}",'
        f'"features":[{",".join(features)}]}}'
    )
    return HttpResponse(body, content_type="application/geo+json")


class CoverageView(APIView):
    """Coverage of the unit grids, communities or road segments in your area (GeoJSON, WGS-84):
    ``coverage`` is the covered share (0..1) of the area (grids, communities) or length (roads)."""

    @extend_schema(
        operation_id="coverage",
        parameters=[
            OpenApiParameter("level", str, enum=list(LEVELS), description="default: grid"),
            OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat (WGS-84)"),
        ],
        responses={200: None, 400: None, 403: None},
    )
    def get(self, request):
        scope = coverage_scope(request.user)
        query = CoverageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        level = query.validated_data["level"]
        coverage = coverage_current()
        targets = coverage_targets(coverage, level, bbox=query.validated_data.get("bbox"), **scope)
        features = [
            f'{{"type":"Feature","id":{t.id},"geometry":{t.geojson},'
            f'"properties":{_properties(level, t)}}}'
            for t in targets
        ]
        return _feature_collection(coverage, features)


class BlindSpotQuery(serializers.Serializer):
    bbox = BboxField(required=False)


class BlindSpotView(APIView):
    """Blind spots (监控盲区) in your area: per unit grid, the part no camera's viewshed covers
    (GeoJSON, WGS-84; grids wholly covered are left out)."""

    @extend_schema(
        operation_id="blind_spots",
        parameters=[
            OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat (WGS-84)")
        ],
        responses={200: None, 400: None, 403: None},
    )
    def get(self, request):
        scope = coverage_scope(request.user)
        query = BlindSpotQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        coverage = coverage_current()
        grids = coverage_targets(coverage, "grid", bbox=query.validated_data.get("bbox"), **scope)
        features = [
            f'{{"type":"Feature","id":{t.id},"geometry":{t.blind_geojson},'
            f'"properties":{_properties("grid", t)}}}'
            for t in grids
            if t.blind_geojson
        ]
        return _feature_collection(coverage, features)


class CoverageReportView(APIView):
    """The coverage report of your area as a file: ``csv``, ``xlsx`` or ``html`` (a map that
    opens offline)."""

    @extend_schema(
        operation_id="coverage_report",
        responses={(200, "application/octet-stream"): bytes, 400: None, 403: None},
    )
    def get(self, request, fmt: str):
        scope = coverage_scope(request.user)
        if fmt not in FORMATS:
            raise ValidationError(
                {
                    "format": [
                        _("Unknown report format %(fmt)r: use one of %(formats)s.")
                        % {"fmt": fmt, "formats": ", ".join(FORMATS)}
                    ]
                }
            )
        out = io.BytesIO()
        write_report(report_data(coverage_current(), **scope), fmt, out)
        response = HttpResponse(out.getvalue(), content_type=CONTENT_TYPES[fmt])
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="coverage-{stamp}.{fmt}"'
        return response
