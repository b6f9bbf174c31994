"""Thin API views for camera units: events (视频智能告警) and heartbeats.

Both are posted with the token of the device account bound to the camera
(``Authorization: Token …``). 401 without a valid token; 403 for an account that is not a
device or a camera bound to another one; 422 for an unknown camera or category; 400 for a
malformed field (a time in the future, a confidence outside 0–1, a snapshot that is not a
photo or too large), naming the field — and nothing is stored then.
"""

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.evidence import EvidenceRejected, check_upload
from gridmap.api_errors import Unprocessable
from gridmap.models import User

from .events import CameraEventError, EventTaken, camera_event_receive, camera_for_device
from .heartbeat import camera_heartbeat


class CameraEventInput(serializers.Serializer):
    """``POST /api/v1/camera-events``: JSON, or multipart with a ``snapshot`` photo."""

    camera = serializers.CharField(max_length=40, help_text="The camera's code.")
    at = serializers.DateTimeField(help_text="When the camera saw it (ISO 8601).")
    category = serializers.CharField(
        max_length=100, help_text="What was detected: a standard code (E0102) or its name."
    )
    confidence = serializers.FloatField(
        min_value=0.0, max_value=1.0, required=False, allow_null=True
    )
    snapshot = serializers.FileField(required=False, allow_empty_file=False)


class CameraEventReceipt(serializers.Serializer):
    event = serializers.IntegerField()
    camera = serializers.CharField()
    case = serializers.IntegerField(allow_null=True)
    number = serializers.CharField(allow_null=True)
    new_case = serializers.BooleanField()
    duplicate_of = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(allow_null=True)


class HeartbeatReceipt(serializers.Serializer):
    camera = serializers.CharField()
    status = serializers.CharField()
    last_heartbeat_at = serializers.DateTimeField()


def _device(request) -> User:
    if request.user.role != User.Role.DEVICE:
        raise PermissionDenied(
            _("Only a camera's device account posts its events and heartbeats (you are %(role)s).")
            % {"role": request.user.get_role_display()}
        )
    return request.user


def _failed(exc: CameraEventError):
    body = {exc.field: [exc.message]}
    if exc.status == 400:
        return ValidationError(body)
    if exc.status == 403:
        return PermissionDenied(exc.message)
    return Unprocessable(body)


def _receipt(taken: EventTaken) -> dict:
    case = taken.case
    return {
        "event": taken.event.pk,
        "camera": taken.event.camera.code,
        "case": case.pk if case else None,
        "number": case.number if case else None,
        "new_case": taken.new_case,
        "duplicate_of": taken.event.duplicate_of_id,
        "url": reverse("case-detail", args=[case.pk]) if case else None,
    }


class CameraEventView(APIView):
    """A detection from a camera's analytics: a new problem opens a case (201), a repeat within
    the deduplication window joins the case of the first (200)."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="camera_events_post",
        request={"application/json": CameraEventInput, "multipart/form-data": CameraEventInput},
        responses={201: CameraEventReceipt, 200: CameraEventReceipt, 400: None, 403: None},
    )
    def post(self, request):
        device = _device(request)
        data = CameraEventInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        snapshot = None
        if d.get("snapshot") is not None:
            try:
                snapshot = check_upload(d["snapshot"])
            except EvidenceRejected as exc:
                raise ValidationError({"snapshot": [str(exc)]}) from exc
        try:
            taken = camera_event_receive(
                device=device,
                camera_code=d["camera"],
                at=d["at"],
                detected=d["category"],
                confidence=d.get("confidence"),
                snapshot=snapshot,
            )
        except CameraEventError as exc:
            raise _failed(exc) from exc
        body = _receipt(taken)
        response = Response(body, status=status.HTTP_201_CREATED if taken.new_case else 200)
        if body["url"]:
            response["Location"] = body["url"]
        return response


class CameraHeartbeatView(APIView):
    """A camera unit's sign of life: the camera is online as of now."""

    @extend_schema(
        operation_id="camera_heartbeat",
        request=None,
        responses={200: HeartbeatReceipt, 403: None, 404: None},
    )
    def post(self, request, code: str):
        device = _device(request)
        try:
            camera = camera_for_device(code=code, device=device)
        except CameraEventError as exc:
            if exc.status == 422:
                raise NotFound(exc.message) from exc
            raise _failed(exc) from exc
        camera = camera_heartbeat(camera_id=camera.pk)
        return Response(
            {
                "camera": camera.code,
                "status": camera.status,
                "last_heartbeat_at": camera.last_heartbeat_at,
            }
        )
