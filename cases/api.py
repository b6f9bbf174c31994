"""Thin API views of cases: intake, list and detail, evidence, the public report endpoints.

Status codes (DESIGN §5): 401 not logged in; 403 a role that may not do this; 404 a case outside
the user's area (indistinguishable from one that does not exist); 400 malformed input; 422
well-formed but impossible (unknown category, outside the district); 429 over a rate limit.
"""

import django_filters
from django.contrib.gis.db.models.functions import Transform
from django.contrib.gis.geos import Polygon
from django.db.models import Exists, OuterRef, Prefetch
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import (
    APIException,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cameras.seeing import cameras_seeing_case_json
from gridmap.api import ClientAddressThrottle, LookupThrottle
from gridmap.api_errors import Unprocessable
from gridmap.models import User

from . import public, workflow
from .evidence import EvidenceRejected, check_upload
from .loop import LoopError, Step, approval_decide, transition_apply
from .models import ApprovalRequest, Case, CaseEvent, Clock, Evidence
from .selectors import cases_visible_to
from .serializers import (
    CaseCreateInput,
    EvidenceInput,
    PublicReportInput,
    case_feature,
    evidence_json,
    intake_receipt,
)
from .services import IntakeError, Petitioner, case_add_evidence, case_report

#: Which sources each role may report under (public reports come through the public endpoint;
#: self-disposal through POST /api/v1/cases/self-disposed). Field teams report what they find
#: on patrol (巡查上报) as patrol inspectors do.
SOURCES_BY_ROLE = {
    User.Role.INSPECTOR: {"inspector"},
    User.Role.FIELD_MEMBER: {"inspector"},
    User.Role.TEAM_LEADER: {"inspector"},
    User.Role.DEVICE: {"camera"},
    User.Role.OPERATOR: {"hotline", "higher_level", "camera", "public", "inspector"},
    User.Role.SHIFT_LEADER: {"hotline", "higher_level", "camera", "public", "inspector"},
    User.Role.DISPATCHER: {"hotline", "higher_level", "camera", "public"},
    User.Role.COMMANDER: {"hotline", "higher_level", "camera", "public"},
    User.Role.ADMIN: {"hotline", "higher_level", "camera", "public", "inspector"},
}


class ReportThrottle(ClientAddressThrottle):
    scope = "report"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _intake_failed(exc: IntakeError):
    if exc.status == 400:
        return ValidationError({exc.field: [exc.message]})
    if exc.status == 409:
        return Conflict({exc.field: [exc.message]})
    return Unprocessable({exc.field: [exc.message]})


def _detail_queryset(user):
    # Few joins, more prefetches: an eleven-table join took PostgreSQL ~7 ms to plan (0.2 ms
    # to run); each prefetch is a primary-key lookup that plans in microseconds.
    return (
        cases_visible_to(user)
        .select_related("category", "department")
        .prefetch_related(
            "community",
            "subdistrict",
            "grid",
            "team",
            "campaign",
            "component__component_class",
            "verifier",
            "zones",
            Prefetch("evidence", queryset=Evidence.objects.order_by("uploaded_at", "id")),
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor")),
            Prefetch("clocks", queryset=Clock.objects.order_by("started_at", "id")),
            "supervisions",
        )
        .annotate(geom_wgs84=Transform("geom", 4326))
    )


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """``min_lon,min_lat,max_lon,max_lat`` (WGS-84) from a query parameter; 400 otherwise."""
    try:
        minx, miny, maxx, maxy = (float(v) for v in value.split(","))
    except ValueError:
        raise ValidationError(
            {"bbox": [_("bbox must be four numbers: min_lon,min_lat,max_lon,max_lat.")]}
        ) from None
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise ValidationError({"bbox": [_("bbox is not a valid WGS-84 box.")]})
    return minx, miny, maxx, maxy


class CaseFilter(django_filters.FilterSet):
    """Filters of the case list; area and organisation filters take codes."""

    stage = django_filters.MultipleChoiceFilter(choices=Case.Stage.choices)
    source = django_filters.MultipleChoiceFilter(choices=Case.Source.choices)
    category = django_filters.CharFilter(field_name="category__code")
    community = django_filters.CharFilter(field_name="community__code")
    grid = django_filters.CharFilter(field_name="grid__code")
    department = django_filters.CharFilter(field_name="department__code")
    team = django_filters.CharFilter(field_name="team__code")
    campaign = django_filters.CharFilter(field_name="campaign__code")
    urgent = django_filters.BooleanFilter()
    reported_after = django_filters.IsoDateTimeFilter(field_name="reported_at", lookup_expr="gte")
    reported_before = django_filters.IsoDateTimeFilter(field_name="reported_at", lookup_expr="lt")
    bbox = django_filters.CharFilter(method="filter_bbox")
    #: ``overdue=true``: a running, unpaused clock of the case is past its deadline (超时).
    overdue = django_filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = Case
        fields = []

    def filter_overdue(self, queryset, name, value):
        late = Clock.objects.filter(
            case=OuterRef("pk"),
            outcome=Clock.Outcome.OPEN,
            paused_at__isnull=True,
            due_at__lt=timezone.now(),
        )
        return queryset.filter(Exists(late)) if value else queryset.exclude(Exists(late))

    def filter_bbox(self, queryset, name, value):
        box = Polygon.from_bbox(parse_bbox(value))
        box.srid = 4326
        return queryset.filter(geom__intersects=box)


class CasePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_paginated_response(self, data):
        return Response(
            {
                "type": "FeatureCollection",
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "features": data,
            }
        )


class CaseListView(APIView):
    """``GET``: the cases the user may see, filtered, as a paginated GeoJSON FeatureCollection.
    ``POST``: report a case (JSON, or multipart with ``files``)."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="cases_list",
        parameters=[
            OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat"),
            OpenApiParameter("stage", str, many=True),
            OpenApiParameter("source", str, many=True),
            OpenApiParameter("category", str),
            OpenApiParameter("community", str),
            OpenApiParameter("grid", str),
            OpenApiParameter("department", str),
            OpenApiParameter("team", str),
            OpenApiParameter("campaign", str),
            OpenApiParameter("reported_after", str, description="ISO 8601"),
            OpenApiParameter("reported_before", str, description="ISO 8601"),
            OpenApiParameter("overdue", bool, description="a running clock is past its deadline"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: None},
    )
    def get(self, request):
        queryset = (
            cases_visible_to(request.user)
            .select_related("category", "community", "grid", "department", "team")
            .annotate(geom_wgs84=Transform("geom", 4326))
            .order_by("-reported_at", "-id")
        )
        filtered = CaseFilter(request.query_params, queryset=queryset, request=request)
        if not filtered.is_valid():
            raise ValidationError(filtered.errors)
        paginator = CasePagination()
        page = paginator.paginate_queryset(filtered.qs, request, view=self)
        return paginator.get_paginated_response([case_feature(case) for case in page])

    @extend_schema(
        operation_id="cases_report",
        request=CaseCreateInput,
        responses={201: None, 400: None, 403: None, 422: None},
    )
    def post(self, request):
        data = CaseCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        allowed = SOURCES_BY_ROLE.get(request.user.role, set())
        if d["source"] not in allowed:
            raise PermissionDenied(
                _("Your role (%(role)s) may not report cases from source %(source)r.")
                % {"role": request.user.get_role_display(), "source": d["source"]}
            )
        try:
            case = case_report(
                source=d["source"],
                category_code=d["category"],
                lon=d["lon"],
                lat=d["lat"],
                srs=d["srs"],
                description=d.get("description", ""),
                address=d.get("address", ""),
                reported_at=d.get("reported_at"),
                external_id=d.get("external_id", ""),
                reporter=request.user,
                camera_code=d.get("camera_code", ""),
                petitioner=Petitioner(
                    d.get("petitioner_name", ""),
                    d.get("petitioner_phone", ""),
                    d.get("petitioner_wants_reply", False),
                ),
                contact_email=d.get("contact_email", ""),
                contact_phone=d.get("contact_phone", ""),
                campaign_code=d.get("campaign", ""),
                urgent=d.get("urgent", False),
                uploads=d.get("files", []),
            )
        except IntakeError as exc:
            raise _intake_failed(exc) from exc
        # A short answer from the case in hand: intake is the hot path, and reading the whole
        # record back would cost more than taking the report. GET the Location for the rest.
        url = reverse("case-detail", args=[case.pk])
        response = Response(intake_receipt(case), status=status.HTTP_201_CREATED)
        response["Location"] = url
        return response


def _visible_case(request, pk) -> Case:
    case = _detail_queryset(request.user).filter(pk=pk).first()
    if case is None:
        raise NotFound(_("No case %(id)s in your area.") % {"id": pk})
    return case


class CaseDetailView(APIView):
    """One case: location, address, evidence, its whole history and the cameras that see it
    (``cameras``: nearest first; null for a role that may not look at cameras)."""

    @extend_schema(responses={200: None, 404: None})
    def get(self, request, pk: int):
        case = _visible_case(request, pk)
        feature = case_feature(case, full=True)
        feature["properties"]["cameras"] = cameras_seeing_case_json(case, request.user)
        return Response(feature)


class CaseEvidenceView(APIView):
    """``POST`` photos or videos to a case (multipart ``files``, ``phase``)."""

    parser_classes = [MultiPartParser]

    @extend_schema(request=EvidenceInput, responses={201: None, 400: None, 404: None})
    def post(self, request, pk: int):
        case = _visible_case(request, pk)
        data = EvidenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            checked = [check_upload(f) for f in data.validated_data["files"]]
        except EvidenceRejected as exc:
            raise ValidationError({"files": [str(exc)]}) from exc
        items = case_add_evidence(
            case=case,
            files=checked,
            phase=data.validated_data["phase"],
            note=data.validated_data.get("note", ""),
            user=request.user,
        )
        return Response([evidence_json(i) for i in items], status=status.HTTP_201_CREATED)


class EvidenceFileView(APIView):
    """An evidence file (or its thumbnail), after checking that its case is visible."""

    thumbnail = False

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 404: None})
    def get(self, request, pk: int):
        item = Evidence.objects.filter(
            pk=pk, case__in=cases_visible_to(request.user).values("pk")
        ).first()
        field = None if item is None else (item.thumbnail if self.thumbnail else item.file)
        if not field:
            raise NotFound(_("No such evidence in your area."))
        try:
            handle = field.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        content_type = "image/jpeg" if self.thumbnail else item.content_type
        response = FileResponse(handle, content_type=content_type)
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class PublicReportView(APIView):
    """A citizen's report: no login, rate-limited per client address, answered with a tracking
    number. No cookie authentication is used here, so a forged cross-site request gains
    nothing that an anonymous one would not (CSRF-safe)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ReportThrottle]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request=PublicReportInput,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={200: None, 201: None, 400: None, 409: None, 422: None},
    )
    def post(self, request):
        data = PublicReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            checked = [public.public_upload_check(f) for f in d.get("files", [])]
        except EvidenceRejected as exc:
            raise ValidationError({"files": [str(exc)]}) from exc
        try:
            taken = public.public_report_take(
                idempotency_key=request.headers.get("Idempotency-Key", "").strip()[:80],
                fingerprint=public.report_fingerprint(
                    category=d["category"],
                    lon=d["lon"],
                    lat=d["lat"],
                    description=d.get("description", ""),
                ),
                category_code=d["category"],
                lon=d["lon"],
                lat=d["lat"],
                srs=d["srs"],
                description=d.get("description", ""),
                address=d.get("address", ""),
                contact_email=d.get("contact_email", ""),
                contact_phone=d.get("contact_phone", ""),
                checked_files=checked,
            )
        except IntakeError as exc:
            raise _intake_failed(exc) from exc
        # A repeat of the same submission (same Idempotency-Key) answers the case it made: 200.
        case = taken.case
        return Response(
            {
                "tracking": case.tracking,
                "status_url": f"/report/{case.tracking}/",
                "api_url": f"/api/v1/public/reports/{case.tracking}",
                "repeated": taken.repeated,
            },
            status=status.HTTP_200_OK if taken.repeated else status.HTTP_201_CREATED,
        )


class PublicReportStatusView(APIView):
    """What a citizen may see of their report, by tracking number."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LookupThrottle]

    @extend_schema(responses={200: None, 404: None})
    def get(self, request, tracking: str):
        case = public.public_case(tracking)
        if case is None:
            raise NotFound(_("No report with tracking number %(t)s.") % {"t": tracking})
        return Response(
            {
                "tracking": case.tracking,
                "category": case.category.public_name or case.category.minor_name,
                "stage": case.stage,
                "stage_label": case.get_stage_display(),
                "reported_at": case.reported_at,
                "closed_at": case.closed_at,
                **public.public_view_json(public.public_view(case)),
            }
        )


class TransitionInput(serializers.Serializer):
    """What a transition may carry; which fields it needs depends on the transition."""

    note = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    at = serializers.DateTimeField(required=False)
    team = serializers.CharField(required=False, max_length=40)
    override_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)
    result = serializers.ChoiceField(choices=["passed", "failed"], required=False)
    target = serializers.IntegerField(required=False)
    value = serializers.FloatField(required=False)
    unit = serializers.ChoiceField(
        choices=["minutes", "working_hours", "working_days"], required=False
    )
    phase = serializers.ChoiceField(choices=Evidence.Phase.choices, required=False)
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), required=False, max_length=10
    )


def loop_failed(exc: LoopError):
    body = {exc.field: [exc.message]} if exc.field else exc.message
    if exc.status == 400:
        return ValidationError(body)
    if exc.status == 403:
        return PermissionDenied(exc.message)
    if exc.status == 404:
        return NotFound(exc.message)
    return Conflict(body)


class TransitionView(APIView):
    """``POST /api/v1/cases/<id>/<transition>`` — the closed loop's steps (DESIGN §3).

    409 for a transition the case's stage does not allow (the reason says which stages it
    needs) or a double submission (same ``Idempotency-Key``); 403 for a role that may not apply
    it; 404 for a case outside the user's area; 400 for a missing reason, evidence of the wrong
    type, a time before the previous event. Steps that need an approval answer 202 with it."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="cases_transition",
        request=TransitionInput,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={200: None, 202: None, 400: None, 403: None, 404: None, 409: None},
    )
    def post(self, request, pk: int, transition: str):
        if transition not in workflow.TRANSITIONS:
            raise NotFound(_("There is no transition %(name)r.") % {"name": transition})
        data = TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            files = [check_upload(f) for f in d.get("files", [])]
        except EvidenceRejected as exc:
            raise ValidationError({"files": [str(exc)]}) from exc
        step = Step(
            note=d.get("note") or d.get("reason") or "",
            lon=d.get("lon"),
            lat=d.get("lat"),
            at=d.get("at"),
            files=files,
            phase=d.get("phase") or "other",
            idempotency_key=request.headers.get("Idempotency-Key", "")[:80],
            params={
                k: d[k]
                for k in ("team", "result", "target", "value", "unit", "override_reason")
                if k in d
            },
        )
        try:
            outcome = transition_apply(case_id=pk, name=transition, actor=request.user, step=step)
        except LoopError as exc:
            raise loop_failed(exc) from exc
        case = _detail_queryset(request.user).filter(pk=pk).first()
        body = {"event": outcome.event.pk, "case": case_feature(case, full=True) if case else None}
        if outcome.approval is not None:
            body["approval"] = approval_json(outcome.approval)
            if outcome.approval.status == "pending":
                return Response(body, status=status.HTTP_202_ACCEPTED)
        return Response(body)


def approval_json(approval: ApprovalRequest) -> dict:
    return {
        "id": approval.pk,
        "case": approval.case_id,
        "kind": approval.kind,
        "status": approval.status,
        "reason": approval.reason,
        "payload": approval.payload,
        "requested_by": approval.requested_by.username,
        "requested_at": approval.requested_at,
        "decided_by": approval.decided_by.username if approval.decided_by_id else None,
        "decided_at": approval.decided_at,
        "decision_note": approval.decision_note,
    }


class ApprovalListView(APIView):
    """Approval requests on the user's cases (``?status=pending`` for the waiting ones)."""

    @extend_schema(parameters=[OpenApiParameter("status", str)], responses={200: None})
    def get(self, request):
        approvals = ApprovalRequest.objects.filter(
            case__in=cases_visible_to(request.user).values("pk")
        ).select_related("requested_by", "decided_by")
        wanted = request.query_params.get("status")
        if wanted:
            approvals = approvals.filter(status=wanted)
        return Response([approval_json(a) for a in approvals[:500]])


class ApprovalDecisionView(APIView):
    """``POST /api/v1/approvals/<id>/approve`` or ``/refuse`` (with a ``note``)."""

    approve = True

    @extend_schema(request=None, responses={200: None, 400: None, 403: None, 404: None, 409: None})
    def post(self, request, pk: int):
        note = str(request.data.get("note", ""))[:5000]
        try:
            outcome = approval_decide(
                approval_id=pk, actor=request.user, approve=self.approve, note=note
            )
        except LoopError as exc:
            raise loop_failed(exc) from exc
        return Response({"event": outcome.event.pk, "approval": approval_json(outcome.approval)})
