"""The loop's primitives: errors, a step's input, the locked case, one event, a move."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.translation import gettext as _

from gridmap.models import User

from .. import workflow
from ..clocks import (
    clocks_cancel,
    clocks_start,
    clocks_stop,
)
from ..evidence import CheckedFile
from ..models import ApprovalRequest, Case, CaseEvent
from ..selectors import cases_visible_to

FUTURE_SKEW = timedelta(minutes=2)


class LoopError(Exception):
    """A refused step; ``status`` is the HTTP answer (400, 403, 404, 409) and ``field`` the
    input at fault, if one is."""

    def __init__(self, message: str, *, status: int, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


@dataclass
class Step:
    """What a transition was asked to do."""

    note: str = ""
    lon: float | None = None
    lat: float | None = None
    files: list[CheckedFile] = field(default_factory=list)
    phase: str = "other"
    at: datetime | None = None
    idempotency_key: str = ""
    #: Transition-specific input: team (dispatch), result (verify), target (merge),
    #: value/unit (extend).
    params: dict = field(default_factory=dict)


@dataclass
class Outcome:
    case: Case
    event: CaseEvent
    approval: ApprovalRequest | None = None


def locked_case(case_id: int, actor: User) -> Case:
    # Visibility first (the scope query may join and DISTINCT, which FOR UPDATE refuses), then
    # the row lock that serialises concurrent steps on one case.
    visible = cases_visible_to(actor).filter(pk=case_id).exists()
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("category", "team")
        .filter(pk=case_id)
        .first()
        if visible
        else None
    )
    if case is None:
        raise LoopError(_("No case %(id)s in your area.") % {"id": case_id}, status=404)
    return case


def step_moment(case: Case, step: Step) -> datetime:
    now = timezone.now()
    at = step.at or now
    if at > now + FUTURE_SKEW:
        raise LoopError(
            _("The time %(at)s lies in the future.") % {"at": at.isoformat()},
            status=400,
            field="at",
        )
    last = case.events.order_by("-at", "-id").values_list("at", flat=True).first()
    if last is not None and at < last:
        raise LoopError(
            _("The time %(at)s is before the case's previous event (%(last)s).")
            % {
                "at": timezone.localtime(at).isoformat(),
                "last": timezone.localtime(last).isoformat(),
            },
            status=400,
            field="at",
        )
    return at


def check_idempotency(case: Case, key: str) -> None:
    if key and case.events.filter(idempotency_key=key).exists():
        raise LoopError(
            _("This submission (Idempotency-Key %(key)s) was already recorded.") % {"key": key},
            status=409,
        )


def step_point(step: Step) -> Point | None:
    if step.lon is None or step.lat is None:
        return None
    return Point(step.lon, step.lat, srid=4326)


def record_event(
    case, *, kind, actor, at, from_stage, to_stage, step: Step, data=None
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor,
        at=at,
        from_stage=from_stage,
        to_stage=to_stage,
        geom=step_point(step),
        note=step.note,
        data=data or {},
        idempotency_key=step.idempotency_key,
    )


def move(
    case: Case,
    transition: workflow.Transition,
    actor,
    at,
    step,
    *,
    to_stage=None,
    data=None,
    kind=None,
) -> CaseEvent:
    """The common part: stage, clocks, one event."""
    from_stage = case.stage
    to_stage = to_stage or transition.to_stage or from_stage
    clocks_stop(case, transition.stops, at=at)
    clocks_cancel(case, transition.cancels, at=at)
    clocks_start(case, transition.starts, at=at)
    if to_stage != from_stage:
        case.stage = to_stage
        if to_stage in workflow.FINAL_STAGES:
            case.closed_at = at
        case.save(update_fields=["stage", "closed_at"])
    return record_event(
        case,
        kind=kind or transition.name,
        actor=actor,
        at=at,
        from_stage=from_stage,
        to_stage=to_stage,
        step=step,
        data=data,
    )
