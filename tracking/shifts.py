"""Shift plans (排班) as concrete periods: pure functions, no database.

A ``ShiftPlan`` row says a team works on a weekday (0 = Monday) from ``start`` to ``end``, in
local time (``settings.TIME_ZONE``). A shift whose ``end`` is not after its ``start`` runs past
midnight into the next day (22:00–06:00). A team with no shift rows at all is on shift around
the clock (teams that work without a roster, and every team until someone enters one).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Shift:
    """One occurrence of a shift: aware datetimes, ``start`` < ``end``."""

    start: datetime
    end: datetime

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


def occurrences(
    plans: Iterable[tuple[int, time, time]],
    around: datetime,
    *,
    days_before: int = 1,
    days_after: int = 1,
) -> list[Shift]:
    """The shifts of ``plans`` ((weekday, start, end) rows) that start on the local days from
    ``days_before`` before ``around`` to ``days_after`` after it, in order of start."""
    tz = local_zone()
    today = around.astimezone(tz).date()
    out = []
    for offset in range(-days_before, days_after + 1):
        day: date = today + timedelta(days=offset)
        for weekday, start, end in plans:
            if weekday != day.weekday():
                continue
            begins = datetime.combine(day, start, tzinfo=tz)
            ends_day = day if end > start else day + timedelta(days=1)
            out.append(Shift(begins, datetime.combine(ends_day, end, tzinfo=tz)))
    return sorted(out, key=lambda s: s.start)


def on_shift(plans: list[tuple[int, time, time]], at: datetime) -> bool:
    """True when ``at`` falls in one of the shifts, or when there is no plan at all."""
    if not plans:
        return True
    return any(s.covers(at) for s in occurrences(plans, at))


def local_time(at: datetime) -> time:
    """The local wall-clock time of an instant (TIME_ZONE)."""
    return at.astimezone(local_zone()).time()


def within_hours(at: datetime, start: time | None, end: time | None) -> bool:
    """True when the local time of ``at`` lies in [start, end) (past midnight when end <=
    start); always true when either is unset (a rule without hours holds all day)."""
    if start is None or end is None:
        return True
    t = local_time(at)
    if start < end:
        return start <= t < end
    return t >= start or t < end
