"""Working time (工作时 / 工作日): the calendar that disposal deadlines are counted in.

A working day is a day that is not a public holiday, and not a weekend unless it is an adjusted
working day (调休: China moves working days onto weekends around its holidays). The public
holidays and adjusted days come from the maintained ``holidays`` package (``GRIDMAP_HOLIDAY_
COUNTRY``, default CN); ``WorkingDayException`` rows entered in the admin override it, so that a
year's official schedule, published late in the year before, can be entered the day it is
announced. Working hours default to 08:30–12:00 and 14:00–18:00 (``GRIDMAP_WORKING_HOURS``).

Amounts: ``working_hours`` are hours of working time; ``working_days`` count a full working day
(7.5 h by default) per day, so that pausing and resuming a clock keeps exactly the time left;
``minutes`` are wall-clock minutes.

Example (2026-02-13 is a Friday; 14 Feb is an adjusted working Saturday, 16–23 Feb the Spring
Festival): 4 working hours from Fri 16:00 end at Sat 14 Feb 10:30.
"""

import itertools
import time as _time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.utils import timezone

MAX_DAYS = 3 * 366  # no limit runs longer than this; beyond it something is misconfigured


def parse_working_hours(text: str) -> tuple[tuple[time, time], ...]:
    """``"08:30-12:00,14:00-18:00"`` → ((08:30, 12:00), (14:00, 18:00)); checked and ordered."""
    periods = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise ValueError(f"working hours {part!r}: expected HH:MM-HH:MM")
        a, b = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        if not a < b:
            raise ValueError(f"working hours {part!r}: the end must come after the start")
        periods.append((a, b))
    periods.sort()
    for (_, end), (start, _) in itertools.pairwise(periods):
        if start < end:
            raise ValueError(f"working hours {text!r}: periods overlap")
    return tuple(periods)


@dataclass(frozen=True)
class WorkingCalendar:
    periods: tuple[tuple[time, time], ...]
    country: str
    tz: ZoneInfo
    #: date → True (a working day) / False (a day off), overriding the package.
    exceptions: tuple[tuple[date, bool], ...] = ()

    @property
    def day_seconds(self) -> float:
        """Working seconds in one working day (one unit of ``working_days``)."""
        return sum(_seconds(b) - _seconds(a) for a, b in self.periods)

    def is_working_day(self, day: date) -> bool:
        overrides = dict(self.exceptions)
        if day in overrides:
            return overrides[day]
        return _is_working_day(self.country, day)

    def _intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals from ``start`` on, in order (aware datetimes in ``tz``)."""
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                for a, b in self.periods:
                    begin = datetime.combine(day, a, self.tz)
                    end = datetime.combine(day, b, self.tz)
                    if end <= local:
                        continue
                    yield max(begin, local), end
            day += timedelta(days=1)
        raise ValueError(f"no working time within {MAX_DAYS} days of {start}: check the calendar")

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment when ``seconds`` of working time have passed since ``start``."""
        if seconds <= 0:
            return start
        left = seconds
        for begin, end in self._intervals(start):
            span = (end - begin).total_seconds()
            if span >= left:
                return begin + timedelta(seconds=left)
            left -= span
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> float:
        """Working seconds between two moments (0 if ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        total = 0.0
        for begin, stop in self._intervals(start):
            if begin >= end:
                break
            total += (min(stop, end) - begin).total_seconds()
        return total


@lru_cache(maxsize=16)
def _holidays(country: str, year: int):
    return holidays.country_holidays(country, years=year)


def _is_working_day(country: str, day: date) -> bool:
    calendar = _holidays(country, day.year)
    if hasattr(calendar, "is_working_day"):
        return calendar.is_working_day(day)
    return day.weekday() < 5 and day not in calendar


def _seconds(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second


_cache: dict[str, tuple[float, WorkingCalendar]] = {}
CACHE_S = 60.0


def working_calendar() -> WorkingCalendar:
    """The deployment's calendar (settings + the admin's exceptions), cached for a minute."""
    key = (
        f"{settings.GRIDMAP_HOLIDAY_COUNTRY}|{settings.GRIDMAP_WORKING_HOURS}|{settings.TIME_ZONE}"
    )
    hit = _cache.get(key)
    if hit is not None and _time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    from .models import WorkingDayException

    calendar = WorkingCalendar(
        periods=parse_working_hours(settings.GRIDMAP_WORKING_HOURS),
        country=settings.GRIDMAP_HOLIDAY_COUNTRY,
        tz=ZoneInfo(settings.TIME_ZONE),
        exceptions=tuple(WorkingDayException.objects.values_list("day", "working")),
    )
    _cache[key] = (_time.monotonic(), calendar)
    return calendar


def calendar_changed(**kwargs) -> None:
    """Forget the cached calendar (connected to saves of WorkingDayException)."""
    _cache.clear()


def limit_seconds(value: float, unit: str) -> float:
    """A time limit in seconds of its own measure (working or wall-clock)."""
    if unit == "minutes":
        return value * 60
    if unit == "working_hours":
        return value * 3600
    if unit == "working_days":
        return value * working_calendar().day_seconds
    raise ValueError(f"unknown time-limit unit {unit!r}")


def due_after(start: datetime, value: float, unit: str) -> datetime:
    """When a limit of ``value`` ``unit`` started at ``start`` runs out."""
    if unit == "minutes":
        return start + timedelta(minutes=value)
    return working_calendar().add(start, limit_seconds(value, unit))


def elapsed(start: datetime, end: datetime, unit: str) -> float:
    """Seconds of the limit's measure between two moments."""
    if unit == "minutes":
        return max(0.0, (end - start).total_seconds())
    return working_calendar().between(start, end)


def now() -> datetime:
    return timezone.now()
