"""On duty from positions (在岗): the sweep that moves teams between available and off duty.

A team is on duty when it is on shift (its shift plan; no plan: always) and one of its units
sent a good fix within ``GRIDMAP_POSITION_FRESH_S``. Only teams with an active device are
judged this way: a team nobody tracks keeps the status set by hand. Busy teams (responding, on
scene, returning) are left alone; their cases drive them (cases/loop/teams.py).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from cases.loop import LoopError
from cases.loop.teams import AVAILABLE, OFF_DUTY, team_status_set
from gridmap.models import Device, ShiftPlan, Team

from ..shifts import on_shift


def tracked_team_ids() -> set[int]:
    """Teams with an active device (their own, or on one of their vehicles)."""
    rows = Device.objects.filter(active=True).values_list("team_id", "vehicle__team_id")
    return {team_id for pair in rows for team_id in pair if team_id is not None}


def duty_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Set tracked teams available when on shift with a fresh position, off duty otherwise
    (through ``team_status_set``, cause ``on_duty``). Returns how many went each way."""
    now = now or timezone.now()
    fresh_after = now - timedelta(seconds=settings.GRIDMAP_POSITION_FRESH_S)
    ids = tracked_team_ids()
    plans: dict[int, list[tuple]] = {}
    for team_id, weekday, start, end in ShiftPlan.objects.filter(team_id__in=ids).values_list(
        "team_id", "weekday", "start", "end"
    ):
        plans.setdefault(team_id, []).append((weekday, start, end))
    moved = {AVAILABLE: 0, OFF_DUTY: 0}
    teams = Team.objects.filter(pk__in=ids).filter(Q(status=AVAILABLE) | Q(status=OFF_DUTY))
    for team in teams:
        fresh = team.position_at is not None and team.position_at >= fresh_after
        to = AVAILABLE if fresh and on_shift(plans.get(team.pk, []), now) else OFF_DUTY
        if team.status == to:
            continue
        try:
            team_status_set(team=team, to=to, cause="on_duty")
        except LoopError:
            continue  # dispatched meanwhile: its cases decide now
        moved[to] += 1
    return moved
