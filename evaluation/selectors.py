"""``evaluate``: the indicators, scores, grades and ranking of every unit of a kind.

The rows come out in ranking order (best score first; units without a score after, those with
no cases last). Each row carries its previous-period score and rank (the period of the same
length just before), so that the 红黑榜 shows who moved up or down.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from cases.models import Case

from .indicators import (
    CLOCK_KINDS,
    SOURCES,
    STAGES,
    Figures,
    Period,
    Scope,
    category_codes,
    figures_compute,
)
from .scores import grade_of, score_of, weights_for
from .units import LABELS, Unit, units_by_id, units_of

#: How many units the red list (红榜) and the black list (黑榜) name, at most.
BOARD_SIZE = 3
NO_CASES = "no cases"
NO_DATA = "no data"


def _rate(numerator: int, denominator: int) -> dict:
    """A rate in % with what it was made of; ``value`` None when there is nothing to divide."""
    if not denominator:
        return {"value": None, "numerator": numerator, "denominator": 0, "note": NO_DATA}
    return {
        "value": round(100.0 * numerator / denominator, 2),
        "numerator": numerator,
        "denominator": denominator,
    }


def _duration(clocks: dict, kind: str) -> dict:
    def seconds(name):
        value = clocks.get(f"{kind}_{name}")
        return None if value is None else round(float(value), 1)

    measure = "working" if kind in ("disposal", "verification") else "wall"
    return {
        "measure": measure,
        "mean_s": seconds("mean"),
        "median_s": seconds("median"),
        "p90_s": seconds("p90"),
    }


def indicators_of(figures: Figures) -> tuple[dict, dict, dict]:
    """(counts, indicators, durations) of one unit from its raw figures."""
    c, k, a = figures.cases, figures.clocks, figures.attendance
    get = lambda row, name: int(row.get(name) or 0)  # noqa: E731
    closed = get(c, "closed")
    due = closed + get(c, "due_not_closed")
    reworked = get(c, "closed_reworked") + get(c, "due_not_closed_reworked")
    filed = get(c, "filed")
    counts = {
        "reported": get(c, "reported"),
        "filed": filed,
        "closed": closed,
        "due_to_close": due,
        "by_source": {s: get(c, f"source_{s}") for s in SOURCES},
        "by_stage": {s: get(c, f"stage_{s}") for s in STAGES},
    }
    indicators = {
        f"on_time_{kind}_rate": _rate(get(k, f"{kind}_met"), get(k, f"{kind}_counted"))
        for kind in CLOCK_KINDS
    }
    dispatches = get(k, "dispatches")
    indicators.update(
        closure_rate=_rate(closed, due),
        on_time_closure_rate=_rate(closed - get(c, "closed_late"), due),
        rework_rate=_rate(reworked, due),
        first_time_completion_rate=_rate(closed - get(c, "closed_reworked"), closed),
        accurate_filing_rate=_rate(
            get(c, "own_filed") - get(c, "own_filed_void"), get(c, "own_filed")
        ),
        accurate_dispatch_rate=_rate(dispatches - get(k, "returns"), dispatches),
        missed_report_rate=_rate(get(c, "missed"), filed),
        valid_report_rate=_rate(get(c, "reports_filed"), get(c, "reports")),
        satisfaction_rate=_rate(get(k, "satisfied"), get(k, "rated")),
        attendance_rate=_rate(
            get(a, "shifts_attended"), get(a, "shifts_attended") + get(a, "absences")
        ),
        punctuality_rate=_rate(get(a, "on_time_check_ins"), get(a, "check_ins")),
    )
    durations = {kind: _duration(k, kind) for kind in CLOCK_KINDS}
    return counts, indicators, durations


@dataclass
class Row:
    unit: Unit
    has_cases: bool
    counts: dict = field(default_factory=dict)
    indicators: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)
    score: float | None = None
    left_out: list[str] = field(default_factory=list)
    rank: int | None = None
    previous_score: float | None = None
    previous_rank: int | None = None
    board: str | None = None

    @property
    def status(self) -> str:
        if not self.has_cases:
            return NO_CASES
        return "ok" if self.score is not None else NO_DATA

    def as_json(self) -> dict:
        grade = grade_of(self.score)
        change = None
        if self.rank is not None and self.previous_rank is not None:
            change = self.previous_rank - self.rank
        return {
            "unit": self.unit.as_json(),
            "status": self.status,
            "score": self.score,
            "grade": grade.letter if grade else None,
            "grade_colour": grade.colour if grade else None,
            "grade_colour_name": grade.colour_name if grade else None,
            "score_left_out": self.left_out,
            "rank": self.rank,
            "previous_score": self.previous_score,
            "previous_rank": self.previous_rank,
            "rank_change": change,
            "score_change": (
                round(self.score - self.previous_score, 2)
                if self.score is not None and self.previous_score is not None
                else None
            ),
            "board": self.board,
            "counts": self.counts,
            "indicators": self.indicators,
            "durations": self.durations,
        }


@dataclass
class Evaluation:
    kind: str
    period: Period
    previous: Period
    weights: dict
    rows: list[Row]

    def as_json(self) -> dict:
        return {
            "by": self.kind,
            "by_label": str(LABELS[self.kind]),
            "period": self.period.as_json(),
            "previous_period": self.previous.as_json(),
            "weights": self.weights,
            "grades": {"A": 90, "B": 75, "C": 60, "D": 40, "E": 0},
            "units": [row.as_json() for row in self.rows],
        }


def _scored_rows(kind, period, scope, weights, *, only=None) -> list[Row]:
    figures = figures_compute(kind, period, scope=scope)
    units = {u.id: u for u in units_of(kind, period_from=period.start, period_to=period.end)}
    missing = [i for i in figures if i not in units]
    units.update(units_by_id(kind, missing))
    codes = category_codes({cat for f in figures.values() for cat in f.categories})
    rows = []
    for unit_id, unit in units.items():
        if only is not None and not only(unit):
            continue
        found = figures.get(unit_id)
        if found is None:
            rows.append(Row(unit=unit, has_cases=False))
            continue
        counts, indicators, durations = indicators_of(found)
        counts["by_category"] = {
            codes.get(cat, str(cat)): n for cat, n in sorted(found.categories.items())
        }
        has_cases = bool(
            counts["reported"] or counts["closed"] or counts["due_to_close"] or found.clocks
        )
        row = Row(unit, has_cases, counts, indicators, durations)
        if has_cases:
            values = {name: item["value"] for name, item in indicators.items()}
            row.score, row.left_out = score_of(values, counts["filed"], weights)
        rows.append(row)
    _rank(rows)
    return rows


def _rank(rows: list[Row]) -> None:
    """Ranks by score (ties share a rank), then unscored, then no cases, each by key."""
    rows.sort(
        key=lambda r: (
            0 if r.score is not None else (1 if r.has_cases else 2),
            -(r.score or 0),
            r.unit.key,
        )
    )
    previous_score, rank = None, 0
    for position, row in enumerate(rows, start=1):
        if row.score is None:
            continue
        if row.score != previous_score:
            rank, previous_score = position, row.score
        row.rank = rank


def evaluate(
    kind: str,
    period: Period,
    *,
    scope: Scope | None = None,
    only=None,
    with_previous: bool = True,
) -> Evaluation:
    """Every unit of ``kind`` over ``period``: counts, indicators, durations, score, grade,
    rank, previous period's score and rank, red/black list. ``only(unit)`` keeps some rows
    (a community lead's own community); ranks stay those among all units."""
    weights = weights_for(kind)
    rows = _scored_rows(kind, period, scope, weights)
    previous = period.previous()
    # Nothing was reported before the previous period ended (a deployment's first period): it
    # has no figures, and its scans of every case and clock would find none.
    if with_previous and Case.objects.filter(reported_at__lt=previous.end).exists():
        before = {r.unit.id: r for r in _scored_rows(kind, previous, scope, weights)}
        for row in rows:
            old = before.get(row.unit.id)
            if old is not None:
                row.previous_score, row.previous_rank = old.score, old.rank
    scored = [r for r in rows if r.score is not None]
    size = min(BOARD_SIZE, len(scored) // 2)
    for row in scored[:size]:
        row.board = "red"
    for row in scored[len(scored) - size :]:
        row.board = "black"
    if only is not None:
        rows = [r for r in rows if only(r.unit)]
    return Evaluation(kind, period, previous, weights, rows)


#: Evaluations reach from the first day of this year to the last of ``LATEST_YEAR``.
EARLIEST_YEAR, LATEST_YEAR = 1990, 2099


def period_check(first, end) -> None:
    """Raises ValueError naming what is wrong with a period of dates ``[first, end)``."""
    for name, day in (("--from", first), ("--to", end)):
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise ValueError(
                _("%(option)s %(day)s is out of range: give a date from %(a)s to %(b)s.")
                % {"option": name, "day": day, "a": EARLIEST_YEAR, "b": LATEST_YEAR}
            )
    if end < first:
        raise ValueError(
            _("The period ends (%(to)s) before it starts (%(from)s): give --from before --to.")
            % {"from": first, "to": end}
        )
    if end == first:
        raise ValueError(
            _(
                "The period from %(from)s to %(to)s is empty: the end date is not included, "
                "so give a later --to (e.g. the first day of the next month)."
            )
            % {"from": first, "to": end}
        )
