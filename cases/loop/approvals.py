"""Steps that need an approval (回退, 挂账, 延时, 作废…): the request and the decision."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridmap.models import User

from .. import notify, workflow
from ..clocks import (
    clocks_extend,
    clocks_pause,
    clocks_resume,
)
from ..models import ApprovalRequest, CaseEvent
from ..selectors import cases_visible_to
from .core import LoopError, Outcome, Step, locked_case, move, record_event
from .teams import team_status_sync


def approval_request(case, transition, actor, at, step) -> Outcome:
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
    event = record_event(
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
        case = locked_case(approval.case_id, actor)
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
        event = record_event(
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
    team_before = case.team_id
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
    event = move(case, transition, actor, at, step, data=data, kind=f"approve_{approval.kind}")
    if team_before and event.from_stage != event.to_stage:
        team_status_sync(team_id=team_before, at=at, cause=approval.kind, case=case, actor=actor)
    notify.notify(
        [approval.requested_by],
        kind="approved",
        case=case,
        title=_("Approved: %(kind)s of case %(number)s")
        % {"kind": approval.get_kind_display(), "number": case.number},
        body=note,
    )
    return event
