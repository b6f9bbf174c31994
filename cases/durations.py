"""How long a stopped clock ran (``Clock.duration_s``), in SQL for many clocks at once.

A clock's duration is measured in its own unit, less its suspended time (挂账): wall-clock
seconds for ``minutes`` limits, *working* seconds for the others (a deadline over a public
holiday does not look long). The loop writes it when a clock stops (``clocks.clocks_stop``);
rows written in bulk (the archive importer, a migration, the benchmarks) get it from
``durations_fill``, which computes exactly what ``calendar.elapsed`` would, in one UPDATE: the
working seconds of a moment are read off a table of days (working seconds of all days before,
and whether the day itself is a working day) passed as two arrays.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection

from .calendar import working_calendar


def working_days_table(first: datetime, last: datetime) -> dict:
    """The days from ``first`` to ``last`` (local), each with the working seconds of all days
    before it: ``W(b) − W(a)`` is then the working time between two moments (SQL)."""
    calendar = working_calendar()
    day = first.astimezone(calendar.tz).date()
    end = last.astimezone(calendar.tz).date() + timedelta(days=1)
    days, cum, working = [], [], []
    total = 0.0
    while day <= end:
        is_working = calendar.is_working_day(day)
        days.append(day)
        cum.append(total)
        working.append(is_working)
        if is_working:
            total += calendar.day_seconds
        day += timedelta(days=1)
    out = {"day0": days[0], "cum": cum, "working": working, "tz": settings.TIME_ZONE}
    offsets = {datetime.combine(d, datetime.min.time(), calendar.tz).utcoffset() for d in days}
    if len(offsets) == 1:
        out["offset_s"] = offsets.pop().total_seconds()
        # The table's first day as a day number of the local epoch.
        out["day0_n"] = (days[0] - date(1970, 1, 1)).days
    return out


def working_seconds_sql(column: str, *, fixed_offset: bool) -> str:
    """Working seconds from the first day of the days table to ``column`` (SQL): those of the
    days before, plus those of its own day up to its local time.

    When the zone kept one UTC offset over the table's days (China: always), local time is
    plain arithmetic on the epoch — far cheaper per row than ``AT TIME ZONE``."""
    if fixed_offset:
        local = f"(extract(epoch FROM {column}) + %(offset_s)s)"
        index = f"(floor({local} / 86400)::int - %(day0_n)s + 1)"
        tod = f"({local} - floor({local} / 86400) * 86400)"
    else:
        zoned = f"({column} AT TIME ZONE %(tz)s)"
        index = f"({zoned}::date - %(day0)s::date + 1)"
        tod = f"extract(epoch FROM {zoned}::time)"
    parts = []
    for start, end in working_calendar().periods:
        a = start.hour * 3600 + start.minute * 60 + start.second
        b = end.hour * 3600 + end.minute * 60 + end.second
        parts.append(f"greatest(0, least({tod}, {b}) - {a})")
    today = " + ".join(parts) or "0"
    return (
        f"((%(cum)s::float8[])[{index}] "
        f"+ CASE WHEN (%(working)s::bool[])[{index}] THEN {today} ELSE 0 END)"
    )


def duration_sql(alias: str, *, fixed_offset: bool) -> str:
    """The duration of stopped clock ``alias`` in whole seconds (SQL), as ``calendar.elapsed``
    less the pauses, rounded half to even like Python's ``round``."""
    end = working_seconds_sql(f"{alias}.met_at", fixed_offset=fixed_offset)
    start = working_seconds_sql(f"{alias}.started_at", fixed_offset=fixed_offset)
    return (
        f"round(CASE WHEN {alias}.limit_unit = 'minutes' "
        f"THEN greatest(0, extract(epoch FROM {alias}.met_at - {alias}.started_at)) "
        f"ELSE greatest(0, {end} - {start}) END - {alias}.paused_s)::integer"
    )


def durations_fill(*, case_ids=None) -> int:
    """Write ``duration_s`` of the stopped clocks that lack one (of the cases ``case_ids``, or
    of all); returns how many. One UPDATE, whatever the number of clocks."""
    where = "k.outcome IN ('met', 'late') AND k.duration_s IS NULL"
    cases, params = "", {}
    if case_ids is not None:
        cases = "unnest(%(case_ids)s::bigint[]) AS i(id)"
        where += " AND k.case_id = i.id"
        params["case_ids"] = [int(i) for i in case_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(k.started_at), max(k.met_at) "
            f"FROM cases_clock k{', ' + cases if cases else ''} WHERE {where}",
            params,
        )
        first, last = cursor.fetchone()
        if first is None:
            return 0
        days = working_days_table(min(first, last), max(first, last))
        sql = duration_sql("k", fixed_offset="offset_s" in days)
        cursor.execute(
            f"UPDATE cases_clock k SET duration_s = {sql}{' FROM ' + cases if cases else ''} "
            f"WHERE {where}",
            {**params, **days},
        )
        return cursor.rowcount
