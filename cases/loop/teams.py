"""A field team's status (执行队伍状态), kept in step with the stages of its cases.

    available → (dispatch) responding → (arrive) on scene → (handle) returning → available
    responding / on scene → (return 回退, void, merge: nothing left) available
    available ↔ off duty (the on-duty sweep, or by hand)

The status follows from the team's open work: a case of the team on scene makes it *on scene*,
else a dispatched one *responding*; with nothing left it is *returning* after a disposal (for
``GRIDMAP_RETURNING_MINUTES``, or until its leader says it is ready) and *available* after a
return (回退), a void or a merge. *Off duty* is set by the on-duty sweep (no fresh position, or
outside the shift plan) or by hand, and only a team without open work may go off duty. Every
change is a ``TeamStatusChange`` row.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridmap.models import Team

from .. import notify, workflow
from ..models import Case, TeamStatusChange
from .core import LoopError

AVAILABLE, RESPONDING, ON_SCENE = "available", "responding", "on_scene"
RETURNING, OFF_DUTY = "returning", "off_duty"
BUSY = frozenset({RESPONDING, ON_SCENE, RETURNING})
#: Statuses a person may set by hand (the others follow from the cases).
MANUAL = frozenset({AVAILABLE, OFF_DUTY})
#: Steps after which a team with nothing left to do is on its way back.
DONE_STEPS = frozenset({"handle", "self_dispose"})


def status_derive(current: str, open_stages: list[str], cause: str) -> str:
    """The status a team in ``current`` should have, given the stages of its open cases
    (``dispatched``/``on_scene``) after the step ``cause``. Pure: no database."""
    if workflow.ON_SCENE in open_stages:
        return ON_SCENE
    if workflow.DISPATCHED in open_stages:
        return RESPONDING
    if current in (RESPONDING, ON_SCENE):
        return RETURNING if cause in DONE_STEPS else AVAILABLE
    return current


def _change(team: Team, to: str, *, at, cause: str, case=None, actor=None, note="") -> bool:
    if team.status == to:
        return False
    TeamStatusChange.objects.create(
        team=team,
        from_status=team.status,
        to_status=to,
        at=at,
        case=case,
        actor=actor if actor is not None and actor.pk else None,
        cause=cause,
        note=note[:300],
    )
    team.status = to
    team.save(update_fields=["status"])
    transaction.on_commit(
        lambda: notify.publish(
            notify.CONSOLE_CHANNEL, {"type": "team", "team": team.code, "status": to}
        )
    )
    return True


def team_status_sync(*, team_id: int, at: datetime, cause: str, case=None, actor=None) -> str:
    """Bring a team's status in step with its cases after step ``cause`` (inside the step's
    transaction; the team row is locked so that two steps of two cases agree). Returns it."""
    team = Team.objects.select_for_update().get(pk=team_id)
    stages = list(
        Case.objects.filter(
            team_id=team_id, stage__in=(workflow.DISPATCHED, workflow.ON_SCENE)
        ).values_list("stage", flat=True)
    )
    to = status_derive(team.status, stages, cause)
    _change(team, to, at=at, cause=cause, case=case, actor=actor)
    return to


def team_status_set(*, team: Team, to: str, actor=None, cause: str = "manual", note="") -> Team:
    """Set a team's status by hand (its leader, a dispatcher) or from the on-duty sweep:
    only available or off duty; off duty only without open work (409 otherwise)."""
    if to not in MANUAL:
        raise LoopError(
            _("A team's status can be set to available or off duty; the rest follows its cases."),
            status=400,
            field="status",
        )
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        open_work = Case.objects.filter(
            team_id=team.pk, stage__in=(workflow.DISPATCHED, workflow.ON_SCENE)
        ).count()
        if open_work and to == OFF_DUTY:
            raise LoopError(
                _("Team %(team)s still has %(n)d open task(s); it cannot go off duty.")
                % {"team": team.name, "n": open_work},
                status=409,
            )
        if open_work and to == AVAILABLE:
            raise LoopError(
                _("Team %(team)s is busy with %(n)d open task(s).")
                % {"team": team.name, "n": open_work},
                status=409,
            )
        _change(team, to, at=timezone.now(), cause=cause, actor=actor, note=note)
    return team


def teams_back_from_jobs(*, now: datetime | None = None) -> int:
    """Teams returning for longer than ``GRIDMAP_RETURNING_MINUTES`` are available again (run by
    the clock sweep). Returns how many."""
    now = now or timezone.now()
    since = now - timedelta(minutes=settings.GRIDMAP_RETURNING_MINUTES)
    moved = 0
    with transaction.atomic():
        for team in Team.objects.select_for_update(skip_locked=True).filter(status=RETURNING):
            last = (
                TeamStatusChange.objects.filter(team=team, to_status=RETURNING)
                .values_list("at", flat=True)
                .first()
            )
            if last is None or last <= since:
                moved += _change(team, AVAILABLE, at=now, cause="returned")
    return moved
