"""Camera events (视频智能告警): what a camera's analytics detected becomes a case.

A camera unit posts "camera X saw category Y at time T (confidence C, snapshot)". The first
such event opens a case in ``reported`` (source ``camera``) at the camera's position through the
ordinary intake (``cases.services.case_report``: geocoding, department, clocks, evidence). A
street vendor stays in view for a quarter of an hour and the analytics fire every few seconds,
so a repeat — same camera, same category, within ``GRIDMAP_CAMERA_EVENT_DEDUP_S`` seconds of an
earlier event — is stored as a duplicate of the event that opened the case and points at the
same case (or the case it was merged into). The window slides: a problem that stays in view
keeps its one case. Once that case is closed, the next detection opens a new one.

Deduplication is race-safe: the camera's row is locked for the whole check-and-insert, so two
identical events arriving at once are taken one after the other and open one case.

Every accepted event is also a heartbeat (``cameras.heartbeat``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.evidence import CheckedFile
from cases.models import Case, Category
from cases.selectors import category_by_code
from cases.services import FUTURE_SKEW, IntakeError, WrittenFiles, case_report
from gridmap.models import WGS84

from .heartbeat import camera_mark_alive
from .models import Camera, CameraEvent

#: Intake's fields → the event's fields, for errors intake raises.
_INTAKE_FIELDS = {"reported_at": "at", "location": "camera", "files": "snapshot"}


class CameraEventError(Exception):
    """An event that cannot be taken, with the field it concerns and the HTTP status it means:
    400 malformed (a time in the future, a bad snapshot), 403 a camera bound to another device,
    422 well-formed but impossible (an unknown camera or category, a camera outside the
    district)."""

    def __init__(self, field: str, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


@dataclass(frozen=True)
class EventTaken:
    """The stored event and its case; ``new_case`` is False for a repeat."""

    event: CameraEvent
    case: Case | None
    new_case: bool


def dedup_window() -> timedelta:
    """How close in time two events of one camera and category must be to be one problem."""
    return timedelta(seconds=float(getattr(settings, "GRIDMAP_CAMERA_EVENT_DEDUP_S", 600)))


def category_resolve(detected: str) -> Category:
    """The active category a device's label names: a standard code (``E0102``, any case) or a
    category's name (``暴露垃圾``, its minor or public name). Raises ``CameraEventError`` on an
    unknown or ambiguous label."""
    label = detected.strip()
    category = category_by_code(label.upper())
    if category is not None:
        return category
    named = list(
        Category.objects.filter(active=True)
        .filter(Q(minor_name=label) | Q(public_name=label))
        .order_by("code")[:5]
    )
    if len(named) == 1:
        return named[0]
    if named:
        raise CameraEventError(
            "category",
            _("%(label)r names several categories (%(codes)s): send the code.")
            % {"label": label, "codes": ", ".join(c.code for c in named)},
        )
    raise CameraEventError(
        "category",
        _("Unknown category %(label)r: send a standard code (e.g. E0102) or a category name.")
        % {"label": label},
    )


def camera_for_device(*, code: str, device, lock: bool = False) -> Camera:
    """The camera with ``code`` if ``device`` (a user) is the account bound to it.

    Raises ``CameraEventError``: 422 for an unknown code, 403 for a camera bound to another
    account (or to none)."""
    cameras = Camera.objects.select_for_update() if lock else Camera.objects
    camera = cameras.filter(code=code).first()
    if camera is None:
        raise CameraEventError("camera", _("Unknown camera %(code)r.") % {"code": code})
    if camera.device_user_id is None or camera.device_user_id != device.pk:
        raise CameraEventError(
            "camera",
            _("Camera %(code)s is not bound to your device account.") % {"code": code},
            status=403,
        )
    return camera


def camera_event_receive(
    *,
    device,
    camera_code: str,
    at: datetime,
    detected: str,
    confidence: float | None = None,
    snapshot: CheckedFile | None = None,
) -> EventTaken:
    """Take one detection from ``device`` (the camera's bound account).

    ``at`` is when the camera saw it (aware datetime); ``snapshot`` a photo already checked by
    ``cases.evidence.check_upload``. A new problem opens a case at the camera's position with
    the snapshot as its evidence; a repeat within the deduplication window is stored with
    ``duplicate_of`` and the same case. Either way the camera counts as online.

    Raises ``CameraEventError`` naming the field; nothing is written then.
    """
    now = timezone.now()
    camera_for_device(code=camera_code, device=device)  # fail early, before the lock
    if at > now + FUTURE_SKEW:
        raise CameraEventError(
            "at", _("at %(at)s lies in the future.") % {"at": at.isoformat()}, status=400
        )
    if confidence is not None and not 0 <= confidence <= 1:
        raise CameraEventError("confidence", _("confidence must lie between 0 and 1."), status=400)
    if snapshot is not None and snapshot.media != "photo":
        raise CameraEventError(
            "snapshot", _("%(name)s: a snapshot is a photo.") % {"name": snapshot.name}, status=400
        )
    category = category_resolve(detected)
    with WrittenFiles() as written, transaction.atomic():
        # The lock serialises events of one camera: the check below and the insert that
        # follows cannot interleave with another event of the same camera.
        camera = camera_for_device(code=camera_code, device=device, lock=True)
        earlier = _earlier_event(camera=camera, category=category, at=at)
        joined = _case_to_join(earlier.case) if earlier is not None else None
        event = CameraEvent(
            camera=camera,
            at=at,
            detected=detected.strip()[:100],
            category=category,
            confidence=confidence,
            received_at=now,
        )
        if joined is not None:
            event.duplicate_of_id = earlier.duplicate_of_id or earlier.pk
            event.case = joined
            case, new_case = joined, False
            if snapshot is not None:
                event.snapshot.save(
                    f"{camera.code}{snapshot.extension}", ContentFile(snapshot.content), save=False
                )
                written.names.append((event.snapshot.storage, event.snapshot.name))
        else:
            case, new_case = _open_case(camera, category, event, snapshot, device), True
            event.case = case
            if case.stored_evidence:
                # The snapshot is stored once, as the case's evidence; the event names it.
                event.snapshot.name = case.stored_evidence[0].file.name
        event.save()
        camera_mark_alive(camera, at=now)
    return EventTaken(event=event, case=case, new_case=new_case)


def _earlier_event(*, camera: Camera, category: Category, at: datetime) -> CameraEvent | None:
    """The event of this camera and category closest in time to ``at`` within the window
    (before or after: events may arrive out of order), if it has a case."""
    window = dedup_window()
    nearby = CameraEvent.objects.filter(
        camera=camera, category=category, case__isnull=False
    ).select_related("case")
    before = nearby.filter(at__lte=at, at__gte=at - window).order_by("-at", "-id").first()
    after = nearby.filter(at__gt=at, at__lte=at + window).order_by("at", "id").first()
    found = [e for e in (before, after) if e is not None]
    return min(found, key=lambda e: abs(e.at - at)) if found else None


def _case_to_join(case: Case) -> Case | None:
    """The case a repeat joins: the earlier event's, or the one it was merged into (合并); None
    when that case is closed — the problem came back after it was fixed, which is a new case.
    A rejected (不予立案) or void case is joined: the centre already decided about it, and a
    camera repeating itself must not file it again every few minutes."""
    hops = 0
    while case.stage == Case.Stage.MERGED and case.merged_into_id and hops < 5:
        case, hops = Case.objects.get(pk=case.merged_into_id), hops + 1
    return None if case.stage == Case.Stage.CLOSED else case


def _open_case(
    camera: Camera,
    category: Category,
    event: CameraEvent,
    snapshot: CheckedFile | None,
    device,
) -> Case:
    """A new case at the camera's position through the ordinary intake."""
    position = camera.geom.transform(WGS84, clone=True)
    confidence = "" if event.confidence is None else f" ({event.confidence:.0%})"
    description = _("Camera %(code)s %(name)s detected %(category)s%(confidence)s.") % {
        "code": camera.code,
        "name": camera.name,
        "category": category.minor_name,
        "confidence": confidence,
    }
    try:
        return case_report(
            source=Case.Source.CAMERA,
            category_code=category.code,
            lon=position.x,
            lat=position.y,
            description=description,
            reported_at=event.at,
            reporter=device,
            camera_code=camera.code,
            checked_files=[snapshot] if snapshot is not None else [],
        )
    except IntakeError as exc:
        field = _INTAKE_FIELDS.get(exc.field, exc.field)
        raise CameraEventError(field, exc.message, status=exc.status) from exc
