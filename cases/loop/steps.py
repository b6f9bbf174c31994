"""The effects of the closed loop's steps (one per transition of cases/workflow.py)."""

from django.contrib.gis.db.models.functions import Distance
from django.utils.translation import gettext as _

from gridmap.models import ResponsibilityZone, User

from .. import notify, workflow
from ..clocks import (
    clocks_start,
    clocks_stop,
)
from ..models import Case, Supervision
from ..selectors import cases_visible_to
from .core import LoopError, Outcome, move, record_event
from .dispatching import arrive_effect, case_dispatch_auto, dispatch_effect


def _simple(case, transition, actor, at, step) -> Outcome:
    return Outcome(case, move(case, transition, actor, at, step))


def _file(case, transition, actor, at, step) -> Outcome:
    outcome = _simple(case, transition, actor, at, step)
    if case.category.auto_dispatch:
        case_dispatch_auto(case, at=at)
    return outcome


def _handle(case, transition, actor, at, step) -> Outcome:
    case.verifier = verifier_for(case)
    case.save(update_fields=["verifier"])
    step.phase = "after"
    event = move(
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
        return Outcome(case, move(case, transition, actor, at, step, data={"result": result}))
    # 返工 rework: back to the team; arrival and disposal start again.
    clocks_stop(case, transition.stops, at=at)
    case.verified_at = None
    case.stage = workflow.REWORK_STAGE
    case.save(update_fields=["verified_at", "stage"])
    clocks_start(case, workflow.REWORK_RESTARTS, at=at)
    event = record_event(
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
    return Outcome(case, move(case, transition, actor, at, step))


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
    return Outcome(case, move(case, transition, actor, at, step))


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
    return Outcome(case, move(case, transition, actor, at, step, data={"supervision": pending.pk}))


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
    return Outcome(case, move(case, transition, actor, at, step, data={"target": target.pk}))


def _keep(case, transition, actor, at, step) -> Outcome:
    if case.duplicate_of_id is None:
        raise LoopError(_("The case is not flagged as a probable duplicate."), status=409)
    previous = case.duplicate_of_id
    case.duplicate_of = None
    case.save(update_fields=["duplicate_of"])
    return Outcome(case, move(case, transition, actor, at, step, data={"was": previous}))


EFFECTS = {
    "file": _file,
    "reject": _simple,
    "dispatch": dispatch_effect,
    "arrive": arrive_effect,
    "feedback": _simple,
    "handle": _handle,
    "verify": _verify,
    "close": _close,
    "supervise": _supervise,
    "reply": _reply,
    "merge": _merge,
    "keep": _keep,
}


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
