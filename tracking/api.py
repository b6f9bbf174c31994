"""Thin API views of tracking: GPS fix batches, attendance (考勤), a team's track.

Status codes (DESIGN §5): 401 no or a bad token; 403 a role that may not do this, or a device
posting another's unit; 404 a team outside the user's scope (as if absent); 400 malformed;
422 well-formed but impossible (unknown unit, no team, outside the district).
"""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.api_teams import teams_visible_to
from gridmap.api_errors import Unprocessable
from gridmap.models import Attendance, Team

from .selectors import MAX_TRACK_DAYS, attendance_list, team_track
from .services.attendance import AttendanceRefused, attendance_record
from .services.positions import BatchRefused, positions_ingest

_FIX = inline_serializer(
    "Fix",
    {
        "unit": serializers.CharField(),
        "time": serializers.DateTimeField(help_text="ISO 8601 with a UTC offset"),
        "lon": serializers.FloatField(),
        "lat": serializers.FloatField(),
        "srs": serializers.CharField(
            required=False, help_text="wgs84 (default), gcj02, bd09, EPSG"
        ),
        "speed_kmh": serializers.FloatField(required=False),
        "heading": serializers.FloatField(required=False),
        "accuracy_m": serializers.FloatField(required=False),
    },
)


def _refused(exc: BatchRefused):
    if exc.status == 403:
        return PermissionDenied({exc.field: [exc.message]})
    if exc.status == 422:
        return Unprocessable({exc.field: [exc.message]})
    return ValidationError({exc.field: [exc.message]})


class PositionBatchView(APIView):
    """``POST /api/v1/positions`` ``{"fixes": [...]}`` (or the list itself): a batch of GPS
    fixes of the caller's own units (a phone's or a vehicle's 4G unit token). Answers the
    counts and each fix's outcome in order: ``accepted``, ``flagged`` (stored, not trusted:
    reason), ``duplicate`` (not stored again) or ``rejected`` (not stored: reason). A batch
    naming an unknown unit is refused with 422, another account's unit with 403: nothing is
    stored then."""

    @extend_schema(
        request=inline_serializer("FixBatch", {"fixes": serializers.ListField(child=_FIX)}),
        responses={200: None, 400: None, 401: None, 403: None, 422: None},
    )
    def post(self, request):
        data = request.data
        fixes = data.get("fixes") if isinstance(data, dict) else data
        try:
            result = positions_ingest(user=request.user, fixes=fixes)
        except BatchRefused as exc:
            raise _refused(exc) from exc
        return Response(result.as_json(len(fixes)))


class AttendanceInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[Attendance.Kind.CHECK_IN, Attendance.Kind.CHECK_OUT])
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    srs = serializers.CharField(required=False, default="wgs84")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


def attendance_json(row: Attendance) -> dict:
    return {
        "id": row.pk,
        "team": row.team.code,
        "user": row.user.username if row.user_id else None,
        "kind": row.kind,
        "at": row.at,
        "status": row.status,
        "shift_start": row.shift_start,
        "distance_m": None if row.distance_m is None else round(row.distance_m, 1),
        "note": row.note,
    }


def _period(request, *, default_days: float) -> tuple[datetime, datetime]:
    """``from`` and ``to`` query parameters (ISO 8601 with offset); defaults: the last
    ``default_days`` up to now. 400 when malformed, reversed or longer than allowed."""
    now = timezone.now()
    values = {}
    for name in ("from", "to"):
        raw = request.query_params.get(name)
        if not raw:
            continue
        value = parse_datetime(raw.replace(" ", "+"))
        if value is None:
            raise ValidationError(
                {name: [_("%(name)s must be an ISO 8601 time.") % {"name": name}]}
            )
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        values[name] = value
    end = values.get("to", now)
    start = values.get("from", end - timedelta(days=default_days))
    if start >= end:
        raise ValidationError({"from": [_("from must lie before to.")]})
    return start, end


class AttendanceView(APIView):
    """``POST /api/v1/attendance`` ``{"kind": "check_in" | "check_out", "lon", "lat", "srs"?}``:
    a team member (field member or team leader) checks in or out with the phone's GPS; the row
    says whether it was on time, late, early or away from the team's base (with the distance).
    ``GET /api/v1/attendance?team=&from=&to=``: the rows of the teams you may see."""

    @extend_schema(
        parameters=[
            OpenApiParameter("team", str),
            OpenApiParameter("from", str),
            OpenApiParameter("to", str),
        ],
        responses={200: None, 400: None, 403: None},
    )
    def get(self, request):
        teams = teams_visible_to(request.user)
        code = request.query_params.get("team")
        if code:
            teams = teams.filter(code=code)
            if not teams.exists():
                raise NotFound(_("No team %(code)s that you can see.") % {"code": code})
        start, end = _period(request, default_days=7)
        rows = attendance_list(teams=teams, start=start, end=end)
        return Response(
            {"from": start, "to": end, "attendance": [attendance_json(r) for r in rows]}
        )

    @extend_schema(request=AttendanceInput, responses={201: None, 400: None, 403: None, 422: None})
    def post(self, request):
        data = AttendanceInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            row = attendance_record(user=request.user, **data.validated_data)
        except AttendanceRefused as exc:
            if exc.status == 403:
                raise PermissionDenied({exc.field: [exc.message]}) from exc
            if exc.status == 400:
                raise ValidationError({exc.field: [exc.message]}) from exc
            raise Unprocessable({exc.field: [exc.message]}) from exc
        return Response(attendance_json(row), status=201)


class TeamTrackView(APIView):
    """``GET /api/v1/teams/<code>/track?from=&to=[&flagged=1]``: the team's fixes in the period
    (at most ``MAX_TRACK_DAYS`` days; default the last 8 hours) as GeoJSON in WGS-84: one
    LineString with the times of its vertices, and one Point per fix. Flagged fixes are left
    out unless ``flagged=1``. 404 for a team you may not see."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str),
            OpenApiParameter("to", str),
            OpenApiParameter("flagged", bool),
        ],
        responses={200: None, 400: None, 403: None, 404: None},
    )
    def get(self, request, code: str):
        team = visible_team(request.user, code)
        start, end = _period(request, default_days=8 / 24)
        if end - start > timedelta(days=MAX_TRACK_DAYS):
            raise ValidationError(
                {"to": [_("A track covers at most %(days)d days.") % {"days": MAX_TRACK_DAYS}]}
            )
        flagged = request.query_params.get("flagged") in ("1", "true", "yes")
        return Response(team_track(team=team, start=start, end=end, flagged=flagged))


def visible_team(user, code: str) -> Team:
    """The team ``code`` if ``user`` may see it; 404 otherwise (PermissionDenied: 403)."""
    team = teams_visible_to(user).filter(code=code).first()
    if team is None:
        raise NotFound(_("No team %(code)s that you can see.") % {"code": code})
    return team
