"""Clock rows: start, stop, cancel, pause, resume, extend, and the traffic light.

Everything here runs inside the transition's transaction. Times of a clock are measured in its
own unit: wall-clock seconds for ``minutes`` limits, working seconds (calendar.py) otherwise.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from . import workflow
from .calendar import due_after, elapsed, limit_seconds
from .models import Case, CategoryTimeLimit, Clock

GREEN_UPTO = 0.8  # green while at most 80 % of the limit is used, yellow up to 100 %, then red


def _parse_limit(text: str) -> tuple[float, str]:
    value, unit = text.split()
    return float(value), unit


def disposal_limit(case: Case) -> tuple[float, str]:
    """The category's 处置时限 for the case's condition and urgency, most specific first."""
    limits = {(t.condition, t.urgent): t for t in case.category.time_limits.all()}
    for key in (
        (case.condition, case.urgent),
        ("any", case.urgent),
        (case.condition, False),
        ("any", False),
    ):
        if key in limits:
            return limits[key].value, limits[key].unit
    return _parse_limit(settings.GRIDMAP_DEFAULT_DISPOSAL_LIMIT)


def clock_limit(case: Case, kind: str) -> tuple[float, str]:
    """(value, unit) of a clock of ``kind`` for ``case``."""
    if kind == workflow.DISPOSAL:
        return disposal_limit(case)
    if kind == workflow.VERIFICATION:
        return _parse_limit(settings.GRIDMAP_VERIFICATION_LIMIT)
    minutes = case.category.clock_minutes.get(kind) or settings.GRIDMAP_CLOCK_MINUTES[kind]
    return float(minutes), CategoryTimeLimit.Unit.MINUTES


def clocks_start(case: Case, kinds, *, at: datetime) -> list[Clock]:
    """Start clocks of ``kinds`` at ``at`` (paused at once if the case is suspended)."""
    return Clock.objects.bulk_create(clocks_new(case, kinds, at=at))


def clocks_new(case: Case, kinds, *, at: datetime) -> list[Clock]:
    """Unsaved clocks of ``kinds`` starting at ``at``."""
    clocks = []
    for kind in kinds:
        value, unit = clock_limit(case, kind)
        clocks.append(
            Clock(
                case=case,
                kind=kind,
                started_at=at,
                due_at=due_after(at, value, unit),
                limit_value=value,
                limit_unit=unit,
                paused_at=case.suspended_at,
            )
        )
    return clocks


def _open(case: Case, kinds) -> list[Clock]:
    return list(Clock.objects.select_for_update().filter(case=case, kind__in=kinds, outcome="open"))


def clocks_stop(case: Case, kinds, *, at: datetime) -> list[Clock]:
    """Stop running clocks of ``kinds``: met if ``at`` is within their due time, else late."""
    stopped = _open(case, kinds)
    for clock in stopped:
        if clock.paused_at is not None:
            _unpause(clock, at)
        clock.met_at = at
        clock.outcome = Clock.Outcome.MET if at <= clock.due_at else Clock.Outcome.LATE
        # As durations.duration_sql computes it for rows written in bulk.
        clock.duration_s = round(elapsed(clock.started_at, at, clock.limit_unit) - clock.paused_s)
    Clock.objects.bulk_update(
        stopped, ["met_at", "outcome", "paused_at", "paused_s", "due_at", "duration_s"]
    )
    return stopped


def clocks_cancel(case: Case, kinds, *, at: datetime) -> list[Clock]:
    """Cancel running clocks of ``kinds`` (the case went another way)."""
    cancelled = _open(case, kinds)
    for clock in cancelled:
        clock.met_at = at
        clock.outcome = Clock.Outcome.CANCELLED
    Clock.objects.bulk_update(cancelled, ["met_at", "outcome"])
    return cancelled


def clocks_pause(case: Case, *, at: datetime) -> list[Clock]:
    """挂账: pause every running clock of the case."""
    paused = [c for c in _open(case, workflow.ALL_CLOCKS) if c.paused_at is None]
    for clock in paused:
        clock.paused_at = at
    Clock.objects.bulk_update(paused, ["paused_at"])
    return paused


def _unpause(clock: Clock, at: datetime) -> None:
    """End a pause: the time left at the pause is counted again from ``at``."""
    left = elapsed(clock.paused_at, clock.due_at, clock.limit_unit)
    if clock.due_at <= clock.paused_at:
        left = 0.0
    clock.paused_s += elapsed(clock.paused_at, at, clock.limit_unit)
    clock.due_at = _shift(at, left, clock.limit_unit)
    clock.paused_at = None


def _shift(start: datetime, seconds: float, unit: str) -> datetime:
    if unit == CategoryTimeLimit.Unit.MINUTES:
        return due_after(start, seconds / 60, unit)
    return due_after(start, seconds / 3600, CategoryTimeLimit.Unit.WORKING_HOURS)


def clocks_resume(case: Case, *, at: datetime) -> list[Clock]:
    """Resume every paused clock of the case, each keeping the time it had left."""
    resumed = [c for c in _open(case, workflow.ALL_CLOCKS) if c.paused_at is not None]
    for clock in resumed:
        _unpause(clock, at)
    Clock.objects.bulk_update(resumed, ["paused_at", "paused_s", "due_at"])
    return resumed


def clocks_extend(case: Case, *, value: float, unit: str) -> Clock | None:
    """延时: move the running disposal clock's due time by ``value`` ``unit``."""
    clocks = _open(case, [workflow.DISPOSAL])
    if not clocks:
        return None
    clock = clocks[0]
    seconds = limit_seconds(value, unit)
    if clock.limit_unit == CategoryTimeLimit.Unit.MINUTES and unit != "minutes":
        clock.due_at = due_after(clock.due_at, value, unit)
    else:
        clock.due_at = _shift(clock.due_at, seconds, clock.limit_unit)
    clock.extended_s += seconds
    clock.save(update_fields=["due_at", "extended_s"])
    return clock


@dataclass(frozen=True)
class Light:
    """How much of a clock's time is used, and its colour."""

    colour: str  # green, yellow, red, or grey (stopped)
    used: float  # fraction of the limit used (1.0 = due now)


def traffic_light(clock: Clock, *, now: datetime) -> Light:
    """Green while at most 80 % of the time is used, yellow up to 100 %, red beyond.

    Stopped clocks show grey (met) or red (late); paused clocks are measured at their pause.
    """
    if clock.outcome == Clock.Outcome.MET:
        return Light("grey", _used(clock, clock.met_at))
    if clock.outcome == Clock.Outcome.LATE:
        return Light("red", _used(clock, clock.met_at))
    if clock.outcome == Clock.Outcome.CANCELLED:
        return Light("grey", 0.0)
    used = _used(clock, clock.paused_at or now)
    colour = "green" if used <= GREEN_UPTO else ("yellow" if used <= 1.0 else "red")
    return Light(colour, used)


def _used(clock: Clock, at: datetime) -> float:
    total = limit_seconds(clock.limit_value, clock.limit_unit) + clock.extended_s
    spent = elapsed(clock.started_at, at, clock.limit_unit) - clock.paused_s
    if total <= 0:
        return 1.0
    return max(0.0, spent / total)
