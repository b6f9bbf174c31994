"""The closed loop's services: one per transition of cases/workflow.py, approvals, escalation.

Every transition runs the same checks in one transaction, on the case row locked ``FOR
UPDATE`` (two dispatchers racing: the second finds the case already dispatched → 409):

1. the case is in the actor's area (else it does not exist for them → 404);
2. the table allows it from this stage for this role (409 / 403);
3. what it needs is there: a reason, evidence of the right type, a team, a result… (400);
4. a client time is not before the previous event nor in the future (400); an
   ``Idempotency-Key`` already used on this case is a double submission (409);

then it writes exactly one ``CaseEvent`` and moves the clocks as the table says. Steps that need
an approval create an ``ApprovalRequest`` (and a ``request_…`` event) instead; the decision is
another event, and an approved request then takes effect.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridmap.models import STORAGE_SRID, ResponsibilityZone, Team, User

from . import notify, workflow
from .clocks import (
    clocks_cancel,
    clocks_extend,
    clocks_pause,
    clocks_resume,
    clocks_start,
    clocks_stop,
)
from .evidence import CheckedFile
from .models import ApprovalRequest, Case, CaseEvent, Clock, Supervision
from .selectors import cases_visible_to
from .services import WrittenFiles, evidence_store

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


def _locked_case(case_id: int, actor: User) -> Case:
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


def _moment(case: Case, step: Step) -> datetime:
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


def _check_idempotency(case: Case, key: str) -> None:
    if key and case.events.filter(idempotency_key=key).exists():
        raise LoopError(
            _("This submission (Idempotency-Key %(key)s) was already recorded.") % {"key": key},
            status=409,
        )


def _point(step: Step) -> Point | None:
    if step.lon is None or step.lat is None:
        return None
    return Point(step.lon, step.lat, srid=4326)


def _event(case, *, kind, actor, at, from_stage, to_stage, step: Step, data=None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor,
        at=at,
        from_stage=from_stage,
        to_stage=to_stage,
        geom=_point(step),
        note=step.note,
        data=data or {},
        idempotency_key=step.idempotency_key,
    )


def transition_apply(*, case_id: int, name: str, actor: User, step: Step | None = None) -> Outcome:
    """Apply transition ``name`` to a case as ``actor``. See the module docstring."""
    step = step or Step()
    with WrittenFiles() as written, transaction.atomic():
        case = _locked_case(case_id, actor)
        on_team = bool(case.team_id) and actor.team_id == case.team_id
        try:
            transition = workflow.check(name, stage=case.stage, role=actor.role, on_team=on_team)
        except workflow.WorkflowError as exc:
            raise LoopError(exc.message, status=exc.status) from exc
        if transition.needs_reason and not step.note.strip():
            raise LoopError(
                _("%(name)s needs a reason (note).") % {"name": name}, status=400, field="note"
            )
        if transition.needs_evidence and not step.files:
            raise LoopError(
                _("%(name)s needs a photo or video.") % {"name": name}, status=400, field="files"
            )
        _check_idempotency(case, step.idempotency_key)
        at = _moment(case, step)
        if transition.approval:
            outcome = _request_approval(case, transition, actor, at, step)
        else:
            outcome = _EFFECTS[name](case, transition, actor, at, step)
        if step.files:
            evidence_store(
                case=case,
                event=outcome.event,
                files=step.files,
                phase=step.phase,
                user=actor,
                written=written,
            )
    notify.publish(
        notify.CONSOLE_CHANNEL,
        {"type": "case", "id": case.pk, "stage": case.stage, "event": outcome.event.kind},
    )
    return outcome


def _move(
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
    return _event(
        case,
        kind=kind or transition.name,
        actor=actor,
        at=at,
        from_stage=from_stage,
        to_stage=to_stage,
        step=step,
        data=data,
    )


def _simple(case, transition, actor, at, step) -> Outcome:
    return Outcome(case, _move(case, transition, actor, at, step))


def _dispatch(case, transition, actor, at, step) -> Outcome:
    code = step.params.get("team")
    if not code:
        raise LoopError(_("dispatch needs a team."), status=400, field="team")
    team = Team.objects.filter(code=code).first()
    if team is None:
        raise LoopError(_("There is no team %(code)s.") % {"code": code}, status=400, field="team")
    case.team = team
    case.department_id = case.department_id or team.department_id
    case.save(update_fields=["team", "department"])
    event = _move(case, transition, actor, at, step, data={"team": team.code})
    leaders = User.objects.filter(team=team, is_active=True)
    notify.notify(
        leaders,
        kind="dispatched",
        case=case,
        title=_("New task %(number)s: %(category)s")
        % {"number": case.number, "category": case.category.minor_name},
        body=case.description[:500],
    )
    return Outcome(case, event)


def _arrive(case, transition, actor, at, step) -> Outcome:
    if step.lon is None or step.lat is None:
        raise LoopError(
            _("arrive needs the team's position (lon, lat)."), status=400, field="location"
        )
    point = _point(step).transform(STORAGE_SRID, clone=True)
    distance = case.geom.distance(point)
    return Outcome(
        case, _move(case, transition, actor, at, step, data={"distance_m": round(distance, 1)})
    )


def _handle(case, transition, actor, at, step) -> Outcome:
    case.verifier = verifier_for(case)
    case.save(update_fields=["verifier"])
    step.phase = "after"
    event = _move(
        case,
        transition,
        actor,
        at,
        step,
        data={"verifier": case.verifier.username if case.verifier else None},
    )
    if case.verifier:
        notify.notify(
            [case.verifier],
            kind="verify",
            case=case,
            title=_("Verify case %(number)s on site") % {"number": case.number},
        )
    return Outcome(case, event)


def _verify(case, transition, actor, at, step) -> Outcome:
    result = step.params.get("result")
    if result not in ("passed", "failed"):
        raise LoopError(_("verify needs a result: passed or failed."), status=400, field="result")
    if actor.role == User.Role.INSPECTOR and case.verifier_id and case.verifier_id != actor.pk:
        raise LoopError(
            _("This verification is assigned to %(name)s.") % {"name": case.verifier},
            status=403,
        )
    if result == "passed":
        case.verified_at = at
        case.save(update_fields=["verified_at"])
        return Outcome(case, _move(case, transition, actor, at, step, data={"result": result}))
    # 返工 rework: back to the team; arrival and disposal start again.
    clocks_stop(case, transition.stops, at=at)
    case.verified_at = None
    case.stage = workflow.REWORK_STAGE
    case.save(update_fields=["verified_at", "stage"])
    clocks_start(case, workflow.REWORK_RESTARTS, at=at)
    event = _event(
        case,
        kind="verify",
        actor=actor,
        at=at,
        from_stage=workflow.HANDLED,
        to_stage=workflow.REWORK_STAGE,
        step=step,
        data={"result": "failed", "rework": True},
    )
    if case.team_id:
        notify.notify(
            User.objects.filter(team_id=case.team_id),
            kind="rework",
            case=case,
            title=_("Rework: case %(number)s failed verification") % {"number": case.number},
            body=step.note,
        )
    return Outcome(case, event)


def _close(case, transition, actor, at, step) -> Outcome:
    if case.verified_at is None:
        raise LoopError(_("A case is closed after its disposal passed verification."), status=409)
    return Outcome(case, _move(case, transition, actor, at, step))


def _supervise(case, transition, actor, at, step) -> Outcome:
    Supervision.objects.create(case=case, note=step.note, requested_by=actor, requested_at=at)
    responsible = User.objects.filter(
        role__in=[User.Role.DEPARTMENT_HEAD, User.Role.TEAM_LEADER], is_active=True
    ).filter(
        **({"team_id": case.team_id} if case.team_id else {"department_id": case.department_id})
    )
    notify.notify(
        responsible,
        kind="supervise",
        case=case,
        title=_("Supervision (督办) of case %(number)s") % {"number": case.number},
        body=step.note,
    )
    return Outcome(case, _move(case, transition, actor, at, step))


def _reply(case, transition, actor, at, step) -> Outcome:
    pending = case.supervisions.filter(replied_at__isnull=True).order_by("requested_at").first()
    if pending is None:
        raise LoopError(_("There is no supervision to reply to."), status=409)
    pending.reply, pending.replied_by, pending.replied_at = step.note, actor, at
    pending.save(update_fields=["reply", "replied_by", "replied_at"])
    notify.notify(
        [pending.requested_by],
        kind="reply",
        case=case,
        title=_("Reply to your supervision of %(number)s") % {"number": case.number},
        body=step.note,
    )
    return Outcome(case, _move(case, transition, actor, at, step, data={"supervision": pending.pk}))


def _merge(case, transition, actor, at, step) -> Outcome:
    target_id = step.params.get("target") or case.duplicate_of_id
    target = cases_visible_to(actor).filter(pk=target_id).first() if target_id else None
    if target is None or target.pk == case.pk:
        raise LoopError(
            _("merge needs another case of yours to merge into (target)."),
            status=400,
            field="target",
        )
    if not target.is_open:
        raise LoopError(
            _("Case %(n)s is %(stage)s: merge into an open case.")
            % {"n": target.number, "stage": target.stage},
            status=409,
        )
    case.merged_into = target
    case.save(update_fields=["merged_into"])
    return Outcome(case, _move(case, transition, actor, at, step, data={"target": target.pk}))


def _keep(case, transition, actor, at, step) -> Outcome:
    if case.duplicate_of_id is None:
        raise LoopError(_("The case is not flagged as a probable duplicate."), status=409)
    previous = case.duplicate_of_id
    case.duplicate_of = None
    case.save(update_fields=["duplicate_of"])
    return Outcome(case, _move(case, transition, actor, at, step, data={"was": previous}))


_EFFECTS = {
    "file": _simple,
    "reject": _simple,
    "dispatch": _dispatch,
    "arrive": _arrive,
    "feedback": _simple,
    "handle": _handle,
    "verify": _verify,
    "close": _close,
    "supervise": _supervise,
    "reply": _reply,
    "merge": _merge,
    "keep": _keep,
}


# --- approvals --------------------------------------------------------------------------------


def _request_approval(case, transition, actor, at, step) -> Outcome:
    kind = transition.approval
    payload = {}
    if kind == "extend":
        try:
            value = float(step.params.get("value"))
        except (TypeError, ValueError):
            raise LoopError(
                _("extend needs a value (how much longer)."), status=400, field="value"
            ) from None
        unit = step.params.get("unit") or "working_hours"
        if value <= 0 or unit not in ("minutes", "working_hours", "working_days"):
            raise LoopError(
                _("extend needs a positive value in minutes, working_hours or working_days."),
                status=400,
                field="value",
            )
        if not case.clocks.filter(kind=workflow.DISPOSAL, outcome="open").exists():
            raise LoopError(_("There is no running disposal deadline to extend."), status=409)
        payload = {"value": value, "unit": unit}
    if kind == "suspend" and case.suspended_at is not None:
        raise LoopError(_("The case is already suspended."), status=409)
    if kind == "resume" and case.suspended_at is None:
        raise LoopError(_("The case is not suspended."), status=409)
    if ApprovalRequest.objects.filter(case=case, kind=kind, status="pending").exists():
        raise LoopError(
            _("A %(kind)s request for this case is already waiting for a decision.")
            % {"kind": kind},
            status=409,
        )
    approval = ApprovalRequest.objects.create(
        case=case,
        kind=kind,
        reason=step.note,
        payload=payload,
        requested_by=actor,
        requested_at=at,
    )
    event = _event(
        case,
        kind=f"request_{kind}",
        actor=actor,
        at=at,
        from_stage=case.stage,
        to_stage=case.stage,
        step=step,
        data={"approval": approval.pk, **payload},
    )
    approvers = User.objects.filter(role__in=transition.approvers, is_active=True)
    notify.notify(
        approvers,
        kind="approval",
        case=case,
        title=_("Approval wanted: %(kind)s of case %(number)s")
        % {"kind": approval.get_kind_display(), "number": case.number},
        body=step.note,
    )
    if workflow.may_decide(kind, actor.role):
        # The approver asked for it: decided at once (still two events, request and decision).
        _decide(approval, case, actor, approve=True, note="", at=at)
    return Outcome(case, event, approval)


def approval_decide(*, approval_id: int, actor: User, approve: bool, note: str = "") -> Outcome:
    """Approve or refuse a pending request; approving applies its effect. 404 outside the
    actor's area, 403 for someone who may not decide it, 409 if already decided."""
    with transaction.atomic():
        approval = (
            ApprovalRequest.objects.select_for_update()
            .filter(pk=approval_id, case__in=cases_visible_to(actor).values("pk"))
            .first()
        )
        if approval is None:
            raise LoopError(
                _("No approval request %(id)s in your area.") % {"id": approval_id}, status=404
            )
        if not workflow.may_decide(approval.kind, actor.role):
            raise LoopError(
                _("A %(role)s may not decide a %(kind)s request.")
                % {"role": actor.role, "kind": approval.kind},
                status=403,
            )
        if approval.status != ApprovalRequest.Status.PENDING:
            raise LoopError(
                _("This request was already %(status)s.") % {"status": approval.status}, status=409
            )
        if not approve and not note.strip():
            raise LoopError(_("A refusal needs a reason (note)."), status=400, field="note")
        case = _locked_case(approval.case_id, actor)
        event = _decide(approval, case, actor, approve=approve, note=note, at=timezone.now())
    notify.publish(
        notify.CONSOLE_CHANNEL,
        {"type": "case", "id": case.pk, "stage": case.stage, "event": event.kind},
    )
    return Outcome(case, event, approval)


def _decide(approval, case, actor, *, approve: bool, note: str, at) -> CaseEvent:
    if approve and case.stage not in workflow.OPEN_STAGES:
        raise LoopError(
            _("The case is %(stage)s now; the request can no longer apply.")
            % {"stage": case.stage},
            status=409,
        )
    approval.status = "approved" if approve else "refused"
    approval.decided_by, approval.decided_at, approval.decision_note = actor, at, note
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    step = Step(note=note)
    from_stage = case.stage
    if not approve:
        event = _event(
            case,
            kind=f"refuse_{approval.kind}",
            actor=actor,
            at=at,
            from_stage=from_stage,
            to_stage=from_stage,
            step=step,
            data={"approval": approval.pk},
        )
        notify.notify(
            [approval.requested_by],
            kind="refused",
            case=case,
            title=_("Refused: %(kind)s of case %(number)s")
            % {"kind": approval.get_kind_display(), "number": case.number},
            body=note,
        )
        return event
    transition = workflow.TRANSITIONS[approval.kind]
    data = {"approval": approval.pk, **approval.payload}
    if approval.kind == "suspend":
        case.suspended_at = at
        case.save(update_fields=["suspended_at"])
        clocks_pause(case, at=at)
    elif approval.kind == "resume":
        case.suspended_at = None
        case.save(update_fields=["suspended_at"])
        clocks_resume(case, at=at)
    elif approval.kind == "extend":
        clock = clocks_extend(case, value=approval.payload["value"], unit=approval.payload["unit"])
        data["disposal_due_at"] = clock.due_at.isoformat() if clock else None
    elif approval.kind == "return":
        case.team = None
        case.save(update_fields=["team"])
    event = _move(case, transition, actor, at, step, data=data, kind=f"approve_{approval.kind}")
    notify.notify(
        [approval.requested_by],
        kind="approved",
        case=case,
        title=_("Approved: %(kind)s of case %(number)s")
        % {"kind": approval.get_kind_display(), "number": case.number},
        body=note,
    )
    return event


# --- verification, escalation -------------------------------------------------------------------


def verifier_for(case: Case) -> User | None:
    """The patrol inspector (监督员) whose patrol zone holds the case, else the inspector of the
    nearest patrol zone; None for self-disposal (the shift leader verifies)."""
    if case.source == Case.Source.SELF:
        return None
    zone = (
        ResponsibilityZone.objects.filter(
            kind="patrol",
            responsible_user__isnull=False,
            responsible_user__is_active=True,
            geom__covers=case.geom,
        )
        .select_related("responsible_user")
        .order_by("code")
        .first()
    )
    if zone is None:
        zone = (
            ResponsibilityZone.objects.filter(
                kind="patrol", responsible_user__isnull=False, responsible_user__is_active=True
            )
            .annotate(d=Distance("geom", case.geom))
            .select_related("responsible_user")
            .order_by("d")
            .first()
        )
    return zone.responsible_user if zone else None


ESCALATION_BATCH = 1000

_CLAIM_SQL = """
UPDATE cases_clock SET escalated_at = %(now)s
 WHERE id IN (SELECT id FROM cases_clock
               WHERE outcome = 'open' AND escalated_at IS NULL AND paused_at IS NULL
                 AND due_at <= %(now)s
               ORDER BY due_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING id, case_id, kind, due_at
"""


def clocks_escalate_due(*, now: datetime | None = None, batch: int = ESCALATION_BATCH) -> int:
    """Escalate every overdue clock exactly once: an ``escalate`` event on its case, a console
    alert and notifications up the chain. Claims clocks with one indexed ``UPDATE … SKIP
    LOCKED``, so overlapping sweeps never escalate a clock twice. Returns how many."""
    total = 0
    while True:
        now = now or timezone.now()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_CLAIM_SQL, {"now": now, "batch": batch})
                claimed = cursor.fetchall()
            if not claimed:
                break
            cases = Case.objects.defer("geom", "description").in_bulk([row[1] for row in claimed])
            CaseEvent.objects.bulk_create(
                CaseEvent(
                    case_id=case_id,
                    kind="escalate",
                    at=now,
                    from_stage=cases[case_id].stage,
                    to_stage=cases[case_id].stage,
                    data={"clock": clock_id, "clock_kind": kind, "due_at": due_at.isoformat()},
                )
                for clock_id, case_id, kind, due_at in claimed
            )
            memo: dict = {}
            notify.notify_batch(
                notify.Message(
                    notify.escalation_chain(cases[case_id], memo=memo),
                    kind="escalation",
                    case=cases[case_id],
                    title=_("Overdue: %(clock)s of case %(number)s")
                    % {"clock": Clock.Kind(kind).label, "number": cases[case_id].number},
                )
                for _clock, case_id, kind, _due in claimed
            )
            notify.publish(
                notify.CONSOLE_CHANNEL,
                {"type": "escalation", "clocks": [[c, k, kind] for c, k, kind, _ in claimed]},
            )
        total += len(claimed)
        if len(claimed) < batch:
            break
        now = None
    return total
