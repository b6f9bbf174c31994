"""The standard indicators (考核指标) of every unit of a kind over a period, computed in SQL.

Read from the cases, their clock rows and their event log (imported archives have all three,
so history is evaluated like live cases). A fixed number of grouped queries per evaluation,
whatever the number of cases, each returning a few rows per unit: four over the cases (counts,
closure, filing; void-but-filed; due and still open; missed reports), one by category, one
over the clock rows (on-time rates and a histogram of durations), one over a few kinds of
events (dispatch accuracy, satisfaction), one over attendance. No loop over cases in Python.
Every query is bounded by the period through indexes (cases migration 0010), so a month of a
large history reads about that month only.

Definitions (CJ/T 292 as cities publish it; ../shared/reference/standards.md). The period is
``[from, to)``.

- counts: cases *reported* in the period, by source, current stage and category.
- *filed* (立案): a reported case that was accepted — it reached ``registered`` or beyond, or was
  voided / merged after a ``file`` step. Self-disposal (自处理) cases are not filed.
- on-time rate of a clock kind (filing 5 min, dispatch 1 min, arrival 10 min, video feedback
  3 min, disposal by the category's limit in working time, verification): clocks met in time /
  clocks counted, where a clock counts when it stopped (met or late) in the period, or is still
  running, unpaused, and its due time passed in the period. Cancelled clocks never count.
  Suspended time (挂账) does not count against a clock: the loop moved its due time.
- *due to close* (应结案): cases closed in the period, plus cases whose disposal deadline fell in
  the period and that were neither closed before it nor voided, rejected or merged.
- closure rate (结案率) = closed / due; on-time closure rate (按期结案率) = closed in the period
  with no late disposal clock / due; rework rate (返工率) = due cases that failed a verification
  at least once / due; first-time completion rate (一次完成率) = closed without rework / closed.
- accurate filing rate (准确立案率) = (filed − voided) / filed.
- accurate dispatch rate (准确派遣率) = (dispatches − returns 回退) / dispatches, by event time.
- missed-report rate (漏报率) = filed public or hotline cases inside a patrol zone with no
  inspector report of the same category within ``MISSED_RADIUS_M`` in the preceding
  ``MISSED_WINDOW_H`` / filed cases. (The reference also asks "during the inspector's shift";
  inspectors have no shift rows yet, so every hour counts.)
- valid-report rate (有效上报率) = inspector reports filed / inspector reports.
- public satisfaction (满意度) = ``satisfaction`` events with ``data.satisfied`` true / all such
  events in the period; a citizen's rating of their closed report writes one (satisfied from
  4 of 5 stars, ``cases.public.SATISFIED_FROM``).
- attendance (出勤率), teams and departments: shifts with a check-in / (those + absences);
  punctuality: on-time check-ins / check-ins. No rows: no data (never 0 %).
- stage durations: mean, median and 90th percentile of the clocks stopped in the period, in
  the clock's own measure — wall-clock seconds for the minute clocks, *working* seconds for
  disposal and verification (a deadline over a public holiday does not look long) — less the
  suspended time; each clock's duration is stored when it stops (``Clock.duration_s``).

A rate with nothing to divide by is ``None`` ("no data"), never 0 % or 100 %.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cases.models import Case, Category
from gridmap.models import ResponsibilityZone

from .units import (
    KINDS,
    MAPPING_TABLE,
    SIMPLE_COLUMNS,
    is_simple,
    mapping_create_sql,
    mapping_sql,
)

SOURCES = tuple(Case.Source.values)
STAGES = tuple(Case.Stage.values)
CLOCK_KINDS = ("filing", "dispatch", "arrival", "feedback", "disposal", "verification")
#: Which ``own_*`` flag of the unit mapping makes a clock of each kind the unit's own.
CLOCK_OWNER = {
    "filing": "own_filing",
    "dispatch": "own_dispatch",
    "arrival": "own_other",
    "feedback": "own_other",
    "disposal": "own_other",
    "verification": "own_verification",
}
MISSED_RADIUS_M = 50.0
MISSED_WINDOW_H = 2.0
FILED_STAGES = ("registered", "dispatched", "on_scene", "handled", "closed")
OPEN_STAGES = ("reported", "registered", "dispatched", "on_scene", "handled")


@dataclass(frozen=True)
class Period:
    """``[start, end)`` as aware datetimes (local midnights when made from dates)."""

    start: datetime
    end: datetime

    @classmethod
    def from_dates(cls, first: date, end: date) -> "Period":
        tz = timezone.get_default_timezone()
        return cls(
            datetime.combine(first, datetime.min.time(), tz),
            datetime.combine(end, datetime.min.time(), tz),
        )

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> "Period":
        """The period of the same length just before (for the ranking's change)."""
        return Period(self.start - self.length, self.start)

    def as_json(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass
class Scope:
    """A geographic narrowing of the cases evaluated (a user's community or subdistrict)."""

    community_id: int | None = None
    subdistrict_id: int | None = None

    def sql(self, prefix: str = "c.") -> tuple[str, dict]:
        """The condition on the case's columns (``prefix``: ``k.unit_`` for a clock's copy)."""
        if self.community_id:
            return f" AND {prefix}community_id = %(scope_community)s", {
                "scope_community": self.community_id
            }
        if self.subdistrict_id:
            return f" AND {prefix}subdistrict_id = %(scope_subdistrict)s", {
                "scope_subdistrict": self.subdistrict_id
            }
        return "", {}


@dataclass
class Figures:
    """The raw counts of one unit, as the queries return them."""

    cases: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)
    clocks: dict = field(default_factory=dict)
    attendance: dict = field(default_factory=dict)


_REP = "c.reported_at >= %(from)s AND c.reported_at < %(to)s"
_CLOSED_IN = "c.stage = 'closed' AND c.closed_at >= %(from)s AND c.closed_at < %(to)s"
_OPEN_AT_END = (
    "c.reported_at < %(to)s AND (c.stage = ANY(%(open_stages)s) "
    "OR (c.stage = 'closed' AND c.closed_at >= %(to)s))"
)
#: A void or merged case counts as filed (立案) when it was filed before it went that way.
#: The look-up is a scalar subquery ``(SELECT TRUE … LIMIT 1)``: the planner keeps it as one
#: index probe per case that gets that far, where EXISTS may be turned into a join over every
#: row of the other table (see QUERY_SETTINGS for the missed-report rule's joins).
_FILED = (
    "c.source <> 'self' AND (c.stage = ANY(%(filed_stages)s) OR (c.stage IN ('void', 'merged') "
    "AND (SELECT TRUE FROM cases_caseevent fe WHERE fe.case_id = c.id AND fe.kind = 'file' "
    "LIMIT 1)))"
)
_REWORKED = (
    "SELECT DISTINCT case_id FROM cases_caseevent WHERE kind = 'verify' AND to_stage = 'dispatched'"
)


def _case_sqls(kind: str, scope_sql: str) -> dict[str, tuple[str, dict]]:
    """The case queries, each grouped into a few rows per unit, from which ``case_counts`` adds
    up every count:

    - ``base``: cases reported or closed in the period by unit, source, stage and flags — a
      plain scan with hash joins to the small reworked and late sets (partial indexes, cases
      migration 0010), which the planner runs in parallel workers;
    - ``void_filed``: void or merged cases of the period that had been filed (counted filed);
    - ``due_open``: cases still open at the end whose disposal deadline fell in the period;
    - ``missed`` and ``missed_void``: filed public or hotline reports in a patrol zone with no
      inspector's report of the same category nearby shortly before (漏报), of cases in a filed
      stage and of void or merged ones filed before.

    The others read only the few cases they concern (by the stage, time and inspector
    indexes); the look-ups they need would keep the base scan from running in parallel."""
    mapping, params = mapping_sql(kind)
    params = {
        **params,
        "missed_s": MISSED_WINDOW_H * 3600,
        "missed_m": MISSED_RADIUS_M,
        "filed_stages": list(FILED_STAGES),
        "open_stages": list(OPEN_STAGES),
        "patrol_zones": list(
            ResponsibilityZone.objects.filter(kind="patrol").values_list("pk", flat=True)
        ),
    }
    where = f"m.unit_id IS NOT NULL{scope_sql}"
    base = f"""
    SELECT m.unit_id, c.source, c.stage, m.own_filing, m.own_report,
      {_REP} AS rep, {_CLOSED_IN} AS closed_in,
      rw.case_id IS NOT NULL AS reworked, lt.case_id IS NOT NULL AS closed_late, count(*) AS n
    FROM cases_case c
    {mapping}
    LEFT JOIN ({_REWORKED}) rw ON rw.case_id = c.id
    LEFT JOIN (SELECT DISTINCT case_id FROM cases_clock
               WHERE kind = 'disposal' AND outcome = 'late') lt ON lt.case_id = c.id
    WHERE (({_REP}) OR (c.closed_at >= %(from)s AND c.closed_at < %(to)s)) AND {where}
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    """
    void_filed = f"""
    SELECT m.unit_id, c.stage, m.own_filing, m.own_report, count(*) AS n
    FROM cases_case c
    {mapping}
    WHERE c.stage IN ('void', 'merged') AND {_REP} AND {_FILED} AND {where}
    GROUP BY 1, 2, 3, 4
    """
    due_open = f"""
    SELECT m.unit_id, c.id IN ({_REWORKED}) AS reworked, count(*) AS n
    FROM cases_case c
    {mapping}
    WHERE {_OPEN_AT_END} AND (
        SELECT TRUE FROM cases_clock d
        WHERE d.case_id = c.id AND d.kind = 'disposal' AND d.outcome <> 'cancelled'
          AND d.due_at >= %(from)s AND d.due_at < %(to)s LIMIT 1)
      AND {where}
    GROUP BY 1, 2
    """
    # Missed reports of cases in a filed stage: semi- and anti-joins probing the patrol links
    # and the inspector reports by index (nested loops only: see QUERY_SETTINGS), which the
    # planner runs in parallel workers; those of void or merged cases filed before, apart.
    missed_rule = f"""c.source IN ('public', 'hotline') AND {_REP}
      AND EXISTS (
        SELECT 1 FROM cases_case_zones pz
        WHERE pz.case_id = c.id AND pz.responsibilityzone_id = ANY(%(patrol_zones)s))
      AND NOT EXISTS (
        SELECT 1 FROM cases_case r
        WHERE r.category_id = c.category_id AND r.source = 'inspector'
          AND r.reported_at <= c.reported_at
          AND r.reported_at >= c.reported_at - %(missed_s)s * interval '1 second'
          AND ST_Distance(r.geom, c.geom) <= %(missed_m)s)"""
    missed = f"""
    SELECT m.unit_id, count(*) AS n
    FROM cases_case c
    {mapping}
    WHERE c.stage = ANY(%(filed_stages)s) AND {missed_rule} AND {where}
    GROUP BY 1
    """
    missed_void = f"""
    SELECT m.unit_id, count(*) AS n
    FROM cases_case c
    {mapping}
    WHERE c.stage IN ('void', 'merged') AND {_FILED} AND {missed_rule} AND {where}
    GROUP BY 1
    """
    return {
        name: (sql, params)
        for name, sql in (
            ("base", base),
            ("void_filed", void_filed),
            ("due_open", due_open),
            ("missed", missed),
            ("missed_void", missed_void),
        )
    }


#: Planner settings of single queries. The missed-report look-ups must stay index probes: as
#: hash joins, the planner (which cannot estimate how few reports lie near each other) pairs
#: every public report with every inspector report of its category.
QUERY_SETTINGS = {
    name: {"enable_hashjoin": "off", "enable_mergejoin": "off"}
    for name in ("missed", "missed_void")
}


def case_counts(rows: dict[str, list[dict]]) -> dict:
    """One unit's case counts from its rows of each case query (``_case_sqls``)."""
    out: dict = {}

    def add(name: str, n: int) -> None:
        out[name] = out.get(name, 0) + n

    def filed(row, n) -> None:
        add("filed", n)
        if row["own_filing"]:
            add("own_filed", n)
            add("own_filed_void", n if row["stage"] == "void" else 0)
        if row["own_report"]:
            add("reports_filed", n)

    for row in rows.get("base", ()):
        n = row["n"]
        if row["rep"]:
            add("reported", n)
            add(f"source_{row['source']}", n)
            add(f"stage_{row['stage']}", n)
            if row["own_report"]:
                add("reports", n)
            if row["source"] != "self" and row["stage"] in FILED_STAGES:
                filed(row, n)
        if row["closed_in"]:
            add("closed", n)
            add("closed_reworked", n if row["reworked"] else 0)
            add("closed_late", n if row["closed_late"] else 0)
    for row in rows.get("void_filed", ()):
        filed(row, row["n"])
    for row in rows.get("due_open", ()):
        add("due_not_closed", row["n"])
        add("due_not_closed_reworked", row["n"] if row["reworked"] else 0)
    for row in (*rows.get("missed", ()), *rows.get("missed_void", ())):
        add("missed", row["n"])
    return out


def _category_sql(kind: str, scope_sql: str) -> tuple[str, dict]:
    """Cases reported in the period by unit and category (a query of its own: grouped by
    hashing, where grouping sets over the main case query would sort every case)."""
    mapping, params = mapping_sql(kind)
    sql = f"""
    SELECT m.unit_id, c.category_id, count(*) AS reported
    FROM cases_case c
    {mapping}
    WHERE c.reported_at >= %(from)s AND c.reported_at < %(to)s
      AND m.unit_id IS NOT NULL{scope_sql}
    GROUP BY 1, 2
    """
    return sql, params


def _clock_sql(kind: str, scope: Scope) -> tuple[str, dict]:
    """Clocks that stopped in the period or ran overdue in it, as a histogram: (unit, kind,
    met, ended, duration in whole seconds) → how many.

    Plain counts grouped by hashing (no DISTINCT, no ordered-set aggregate, which would sort
    every row); means and percentiles are read off the histogram, exactly for durations in
    whole seconds. The durations are the clocks' own (``duration_s``, written when they
    stopped), so that the groups are plain columns whose number the planner knows (extended
    statistics, cases migration 0010) and aggregates in parallel workers. For the kinds named
    by a column of the case, the clocks' own copy of it (cases migration 0011) spares the join
    to the cases."""
    period = """((k.outcome IN ('met', 'late') AND k.met_at >= %(from)s AND k.met_at < %(to)s)
        OR (k.outcome = 'open' AND k.paused_at IS NULL
            AND k.due_at >= %(from)s AND k.due_at < %(until)s))"""
    if is_simple(kind):
        unit = f"k.unit_{SIMPLE_COLUMNS[kind]}"
        sql = f"""
        SELECT {unit} AS unit_id, k.kind, k.outcome, k.duration_s AS dur_s, count(*) AS n
        FROM cases_clock k
        WHERE {period} AND {unit} IS NOT NULL{scope.sql("k.unit_")[0]}
        GROUP BY 1, 2, 3, 4
        """
        return sql, {}
    mapping, params = mapping_sql(kind)
    owner = " ".join(f"WHEN '{k}' THEN m.{flag}" for k, flag in CLOCK_OWNER.items())
    scope_sql = scope.sql()[0]
    sql = f"""
    SELECT m.unit_id, k.kind, k.outcome, k.duration_s AS dur_s, count(*) AS n
    FROM cases_clock k
    JOIN cases_case c ON c.id = k.case_id
    {mapping}
    WHERE {period}
      AND m.unit_id IS NOT NULL AND CASE k.kind {owner} ELSE FALSE END{scope_sql}
    GROUP BY 1, 2, 3, 4
    """
    return sql, params


def _event_sql(kind: str, scope_sql: str) -> tuple[str, dict]:
    """Dispatches and returns (accurate dispatch) and satisfaction events in the period."""
    mapping, params = mapping_sql(kind)
    sql = f"""
    SELECT m.unit_id,
      count(*) FILTER (WHERE e.kind = 'dispatch' AND m.own_dispatch) AS dispatches,
      count(*) FILTER (WHERE e.kind = 'approve_return' AND m.own_dispatch) AS returns,
      count(*) FILTER (WHERE e.kind = 'satisfaction'
        AND (e.data ->> 'satisfied') IN ('true', 'false')) AS rated,
      count(*) FILTER (WHERE e.kind = 'satisfaction' AND (e.data ->> 'satisfied') = 'true')
        AS satisfied
    FROM cases_caseevent e
    JOIN cases_case c ON c.id = e.case_id
    {mapping}
    WHERE e.kind IN ('dispatch', 'approve_return', 'satisfaction')
      AND e.at >= %(from)s AND e.at < %(to)s AND m.unit_id IS NOT NULL{scope_sql}
    GROUP BY m.unit_id
    """
    return sql, params


def percentile(histogram: list[tuple[float, int]], p: float) -> float | None:
    """``percentile_cont(p)`` of the values a sorted histogram [(value, count)] stands for."""
    total = sum(n for _, n in histogram)
    if not total:
        return None
    position = p * (total - 1)
    lower, upper = int(position), min(int(position) + 1, total - 1)
    values, seen = {}, 0
    for value, n in histogram:
        for index in (lower, upper):
            if seen <= index < seen + n:
                values[index] = value
        seen += n
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


def clocks_from_histogram(rows: list[dict]) -> dict:
    """Per-kind counts and durations of one unit from its histogram rows."""
    out: dict = {}
    durations: dict[str, list] = {}
    for row in rows:
        kind, n = row["kind"], row["n"]
        out[f"{kind}_counted"] = out.get(f"{kind}_counted", 0) + n
        if row["outcome"] == "met":
            out[f"{kind}_met"] = out.get(f"{kind}_met", 0) + n
        if row["outcome"] != "open" and row["dur_s"] is not None:
            durations.setdefault(kind, []).append((row["dur_s"], n))
    for kind, histogram in durations.items():
        histogram.sort()
        total = sum(n for _, n in histogram)
        out[f"{kind}_mean"] = sum(v * n for v, n in histogram) / total
        out[f"{kind}_median"] = percentile(histogram, 0.5)
        out[f"{kind}_p90"] = percentile(histogram, 0.9)
    return out


def _attendance_sql(kind: str) -> str | None:
    """Attendance rows grouped by unit, for the kinds whose members check in (teams)."""
    unit = {"team": "a.team_id", "department": "t.department_id"}.get(kind)
    if unit is None:
        return None
    return f"""
    SELECT {unit} AS unit_id,
      count(DISTINCT a.shift_start) FILTER (WHERE a.kind = 'check_in'
        AND a.shift_start IS NOT NULL) AS shifts_attended,
      count(*) FILTER (WHERE a.kind = 'absent') AS absences,
      count(*) FILTER (WHERE a.kind = 'check_in') AS check_ins,
      count(*) FILTER (WHERE a.kind = 'check_in' AND a.status = 'on_time') AS on_time_check_ins
    FROM gridmap_attendance a JOIN gridmap_team t ON t.id = a.team_id
    WHERE a.at >= %(from)s AND a.at < %(to)s AND {unit} IS NOT NULL
    GROUP BY {unit}
    """


#: Settings of the evaluation's transaction. JIT compilation cost ~2 s per query (the many
#: FILTER columns) whatever the size, more than the queries themselves. The planner cannot
#: estimate how many distinct durations the clock histogram has (it guesses millions; a year
#: of 1 M cases has ~200 k) and would sort 5 M rows to group them; hashing them halves the
#: query, so sorting is discouraged (every query here is a grouping into few rows).
SESSION = {
    "jit": "off",
    "work_mem": "128MB",
    "enable_sort": "off",
    "enable_incremental_sort": "off",
}


def _rows(sql: str, params: dict, settings: dict | None = None) -> list[dict]:
    """The rows of one query, as dicts; ``settings`` hold for this query only."""
    with connection.cursor() as cursor:
        before = {}
        for name, value in (settings or {}).items():
            cursor.execute("SELECT current_setting(%s)", [name])
            before[name] = cursor.fetchone()[0]
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for name, value in before.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        return rows


def figures_compute(kind: str, period: Period, *, scope: Scope | None = None) -> dict[int, Figures]:
    """The raw counts of every unit of ``kind`` that has cases in ``period`` (by unit id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown unit kind {kind!r}; known: {', '.join(KINDS)}")
    scope = scope or Scope()
    scope_params = scope.sql()[1]
    now = timezone.now()
    base = {
        "from": period.start,
        "to": period.end,
        "until": min(period.end, now),
        "tz": settings.TIME_ZONE,
        **scope_params,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for name, value in SESSION.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        if not is_simple(kind):
            # Dropped at commit; dropped here too when an outer transaction holds one from
            # an earlier evaluation (the previous period's).
            cursor.execute(f"DROP TABLE IF EXISTS {MAPPING_TABLE}")
            sql, params = mapping_create_sql(kind)
            cursor.execute(sql, {**base, **params})
            cursor.execute(f"CREATE INDEX ON {MAPPING_TABLE} (case_id)")
            cursor.execute(f"ANALYZE {MAPPING_TABLE}")
        return _figures(kind, scope, base)


def _figures(kind: str, scope: Scope, base: dict) -> dict[int, Figures]:
    scope_sql = scope.sql()[0]
    out: dict[int, Figures] = {}
    grouped: dict[int, dict[str, list]] = {}
    for name, (sql, params) in _case_sqls(kind, scope_sql).items():
        for row in _rows(sql, {**base, **params}, QUERY_SETTINGS.get(name)):
            grouped.setdefault(row["unit_id"], {}).setdefault(name, []).append(row)
    for unit_id, rows in grouped.items():
        out.setdefault(unit_id, Figures()).cases = case_counts(rows)
    sql, params = _category_sql(kind, scope_sql)
    for row in _rows(sql, {**base, **params}):
        out.setdefault(row["unit_id"], Figures()).categories[row["category_id"]] = row["reported"]
    sql, params = _clock_sql(kind, scope)
    histograms: dict[int, list] = {}
    for row in _rows(sql, {**base, **params}):
        histograms.setdefault(row["unit_id"], []).append(row)
    for unit_id, rows in histograms.items():
        out.setdefault(unit_id, Figures()).clocks = clocks_from_histogram(rows)
    sql, params = _event_sql(kind, scope_sql)
    for row in _rows(sql, {**base, **params}):
        out.setdefault(row.pop("unit_id"), Figures()).clocks.update(row)
    attendance = _attendance_sql(kind)
    if attendance:
        for row in _rows(attendance, base):
            out.setdefault(row["unit_id"], Figures()).attendance = row
    return out


def category_codes(ids) -> dict[int, str]:
    return dict(Category.objects.filter(pk__in=list(ids)).values_list("pk", "code"))
