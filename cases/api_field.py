"""What the field page (执行端) reads and sends beyond the closed loop's steps.

``GET /api/v1/field/tasks`` lists the signed-in team member's or patrol inspector's tasks,
nearest first from their GPS; ``POST /api/v1/cases/self-disposed`` records a problem fixed on
the spot (自处理) with before and after evidence.
"""

from django.contrib.gis.db.models.functions import Distance, Transform
from django.contrib.gis.geos import Point
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmap.models import STORAGE_SRID, User

from . import workflow
from .api import _intake_failed
from .evidence import EvidenceRejected, check_upload
from .models import Case, Clock
from .serializers import LocationInput, clock_json
from .services import IntakeError, case_report

FIELD_ROLES = frozenset({User.Role.FIELD_MEMBER, User.Role.TEAM_LEADER})
#: The steps a task offers on the field page, by stage (field teams) — the loop checks them.
TEAM_STEPS = {
    workflow.DISPATCHED: ["arrive", "return"],
    workflow.ON_SCENE: ["feedback", "handle"],
}
TASK_LIMIT = 100


def field_tasks(user, *, lon: float | None = None, lat: float | None = None) -> list[dict]:
    """The open tasks of ``user``: their team's dispatched and on-scene cases (field members and
    team leaders) or the handled cases waiting for their verification (patrol inspectors);
    nearest first when a position is given, else by the running clock's deadline."""
    if user.role in FIELD_ROLES:
        if not user.team_id:
            return []
        cases = Case.objects.filter(team_id=user.team_id, stage__in=list(TEAM_STEPS))
    elif user.role == User.Role.INSPECTOR:
        cases = Case.objects.filter(verifier=user, stage=workflow.HANDLED)
    else:
        return []
    cases = cases.select_related("category").annotate(geom_wgs84=Transform("geom", 4326))
    cases = cases.prefetch_related(
        Prefetch("clocks", queryset=Clock.objects.filter(outcome=Clock.Outcome.OPEN))
    )
    here = None
    if lon is not None and lat is not None:
        here = Point(lon, lat, srid=4326).transform(STORAGE_SRID, clone=True)
        cases = cases.annotate(distance=Distance("geom", here)).order_by("distance", "id")
    else:
        cases = cases.order_by("reported_at", "id")
    now = timezone.now()
    tasks = [_task(case, user, now=now) for case in cases[:TASK_LIMIT]]
    if here is None:
        tasks.sort(key=lambda t: (t["due_at"] is None, t["due_at"] or now))
    return tasks


def _task(case: Case, user, *, now) -> dict:
    clocks = sorted(case.clocks.all(), key=lambda c: c.due_at)
    running = clock_json(clocks[0], now=now) if clocks else None
    point = case.geom_wgs84
    distance = getattr(case, "distance", None)
    steps = ["verify"] if user.role == User.Role.INSPECTOR else TEAM_STEPS.get(case.stage, [])
    return {
        "id": case.pk,
        "number": case.number,
        "category": case.category.minor_name,
        "stage": case.stage,
        "stage_label": case.get_stage_display(),
        "description": case.description[:300],
        "address": case.address,
        "lon": round(point.x, 7),
        "lat": round(point.y, 7),
        "distance_m": round(distance.m) if distance is not None else None,
        "navigate": f"geo:{point.y:.6f},{point.x:.6f}?q={point.y:.6f},{point.x:.6f}",
        "clock": running,
        "due_at": running["due_at"] if running else None,
        "steps": steps,
        "urgent": case.urgent,
    }


class FieldTasksView(APIView):
    """``GET /api/v1/field/tasks[?lon=&lat=]``: my tasks, nearest first (WGS-84 position)."""

    @extend_schema(
        parameters=[OpenApiParameter("lon", float), OpenApiParameter("lat", float)],
        responses={200: None, 400: None, 403: None},
    )
    def get(self, request):
        user = request.user
        if user.role not in FIELD_ROLES and user.role != User.Role.INSPECTOR:
            raise PermissionDenied(_("Tasks are for field teams and patrol inspectors."))
        lon, lat = _position(request.query_params)
        return Response({"tasks": field_tasks(user, lon=lon, lat=lat)})


def _position(params) -> tuple[float | None, float | None]:
    if not params.get("lon") and not params.get("lat"):
        return None, None
    try:
        lon, lat = float(params["lon"]), float(params["lat"])
    except (KeyError, ValueError):
        raise ValidationError(
            {"lon": [_("Give both lon and lat as numbers (WGS-84 degrees).")]}
        ) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError({"lon": [_("lon/lat lie outside the world.")]})
    return lon, lat


class SelfDisposedInput(LocationInput):
    category = serializers.CharField(max_length=12)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    before = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), min_length=1, max_length=5
    )
    after = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), min_length=1, max_length=5
    )


class SelfDisposedView(APIView):
    """``POST /api/v1/cases/self-disposed`` (multipart): a problem the reporter fixed on the spot
    (自处理), with photos or videos from ``before`` and ``after``; the case waits in ``handled``
    for the shift leader's verification."""

    parser_classes = [MultiPartParser]

    @extend_schema(request=SelfDisposedInput, responses={201: None, 400: None, 403: None})
    def post(self, request):
        if request.user.role not in FIELD_ROLES | {User.Role.INSPECTOR}:
            raise PermissionDenied(
                _("Self-disposal is recorded by field teams and patrol inspectors.")
            )
        data = SelfDisposedInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            before = [check_upload(f) for f in d["before"]]
            after = [check_upload(f) for f in d["after"]]
        except EvidenceRejected as exc:
            raise ValidationError({"files": [str(exc)]}) from exc
        try:
            case = case_report(
                source=Case.Source.SELF,
                category_code=d["category"],
                lon=d["lon"],
                lat=d["lat"],
                srs=d["srs"],
                description=d.get("description", ""),
                address=d.get("address", ""),
                reporter=request.user,
                self_disposed=True,
                before=before,
                after=after,
            )
        except IntakeError as exc:
            raise _intake_failed(exc) from exc
        return Response(
            {"id": case.pk, "number": case.number, "stage": case.stage},
            status=status.HTTP_201_CREATED,
        )
