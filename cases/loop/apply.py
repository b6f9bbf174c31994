"""``transition_apply``: the one entry point of every step of the closed loop."""

from django.db import transaction
from django.utils.translation import gettext as _

from gridmap.models import User

from .. import notify, public, workflow
from ..services import WrittenFiles, evidence_store
from .approvals import approval_request
from .core import LoopError, Outcome, Step, check_idempotency, locked_case, step_moment
from .steps import EFFECTS
from .teams import team_status_sync


def transition_apply(*, case_id: int, name: str, actor: User, step: Step | None = None) -> Outcome:
    """Apply transition ``name`` to a case as ``actor`` (the checks: ``cases.loop``'s docstring)."""
    step = step or Step()
    with WrittenFiles() as written, transaction.atomic():
        case = locked_case(case_id, actor)
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
        check_idempotency(case, step.idempotency_key)
        at = step_moment(case, step)
        team_before = case.team_id
        if transition.approval:
            outcome = approval_request(case, transition, actor, at, step)
        else:
            outcome = EFFECTS[name](case, transition, actor, at, step)
        if outcome.event.from_stage != case.stage:
            for team_id in {team_before, case.team_id} - {None}:
                team_status_sync(team_id=team_id, at=at, cause=name, case=case, actor=actor)
        if outcome.approval is None:
            public.reporter_notify(case, outcome.event)
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
