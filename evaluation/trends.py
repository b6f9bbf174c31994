"""One unit over the months (考核趋势): its score, grade, rank and rates month by month, for the
unit view, the printable monthly report and the community page.

Each month is one ``evaluate`` of every unit of the kind over that calendar month (ranks are
among all units, as on the ranking), without the previous-period pass: the change of a month
is read from the month before in the same series, so no month is evaluated twice. Months that
ended before the first case was reported are "no cases" without a query.

Who may see a unit is decided as by the API (``access_for``): a unit outside the caller's
``only`` is looked up as if it did not exist.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case

from .report import month_period, months_back
from .scores import weights_for
from .selectors import EARLIEST_YEAR, evaluate
from .units import KINDS, Unit, units_by_id, units_of

TREND_MONTHS = 12


class TrendInputError(ValueError):
    """Input a trend cannot be made of; the message names the parameter and what would do."""


def kind_check(kind: str | None) -> str:
    if kind not in KINDS:
        raise TrendInputError(
            _("Unknown unit kind %(kind)r: give by= one of %(kinds)s.")
            % {"kind": kind or "", "kinds": ", ".join(KINDS)}
        )
    return kind


def month_parse(text: str | None, *, today: date | None = None) -> date:
    """``YYYY-MM`` → the month's first day; the current month when empty. A month after the
    current one has no figures yet: TrendInputError."""
    today = today or timezone.localdate()
    if not text:
        return today.replace(day=1)
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(text)
        first = date(int(year), int(month), 1)
    except ValueError:
        raise TrendInputError(
            _("%(value)r is not a month: give month= as YYYY-MM (e.g. 2026-10).") % {"value": text}
        ) from None
    if first.year < EARLIEST_YEAR:
        raise TrendInputError(
            _("%(month)s is too early: give a month from %(year)s on.")
            % {"month": text, "year": EARLIEST_YEAR}
        )
    if first > today.replace(day=1):
        raise TrendInputError(
            _("%(month)s is in the future: give this month (%(now)s) or an earlier one.")
            % {"month": text, "now": today.strftime("%Y-%m")}
        )
    return first


def unit_find(kind: str, key: str | None, access) -> Unit:
    """The unit of ``kind`` named by its code (or username), or by its id; LookupError when
    there is none the caller may see (another community's unit reads as unknown). ``access``
    is what ``api.access_for`` gives the caller."""
    if not key:
        raise LookupError(key)
    found = next((u for u in units_of(kind) if key in (u.key, str(u.id))), None)
    if found is None and key.isdigit():
        found = units_by_id(kind, [int(key)]).get(int(key))
    if found is None or (access.only is not None and not access.only(found)):
        raise LookupError(key)
    return found


@dataclass
class MonthPoint:
    """One month of a unit: its row (``Row.as_json()``) or None when nothing ran yet, and how
    many units were ranked that month."""

    month: date
    row: dict | None
    ranked: int = 0

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def status(self) -> str:
        return self.row["status"] if self.row else "no cases"

    @property
    def score(self) -> float | None:
        return self.row["score"] if self.row else None

    @property
    def grade(self) -> str | None:
        return self.row["grade"] if self.row else None

    @property
    def grade_colour(self) -> str | None:
        return self.row["grade_colour"] if self.row else None

    @property
    def rank(self) -> int | None:
        return self.row["rank"] if self.row else None

    def rate(self, name: str) -> float | None:
        if not self.row:
            return None
        return (self.row["indicators"].get(name) or {}).get("value")

    def as_json(self) -> dict:
        row = self.row or {}
        return {
            "month": self.label,
            "status": self.status,
            "score": self.score,
            "grade": self.grade,
            "grade_colour": self.grade_colour,
            "rank": self.rank,
            "ranked": self.ranked,
            "reported": row.get("counts", {}).get("reported", 0),
            "indicators": {k: v["value"] for k, v in row.get("indicators", {}).items()},
        }


@dataclass
class Trend:
    kind: str
    unit: Unit
    months: list[MonthPoint]
    #: The rates the kind's score weighs (the key rates of the charts).
    key_rates: list[str] = field(default_factory=list)

    @property
    def current(self) -> MonthPoint:
        return self.months[-1]

    @property
    def previous(self) -> MonthPoint | None:
        return self.months[-2] if len(self.months) > 1 else None

    @property
    def rank_change(self) -> int | None:
        """Places gained since the month before (positive: moved up)."""
        before = self.previous
        if before is None or before.rank is None or self.current.rank is None:
            return None
        return before.rank - self.current.rank

    def as_json(self) -> dict:
        return {
            "by": self.kind,
            "unit": self.unit.as_json(),
            "month": self.current.label,
            "key_rates": self.key_rates,
            "rank_change": self.rank_change,
            "score_change": self.score_change,
            "months": [p.as_json() for p in self.months],
        }

    @property
    def score_change(self) -> float | None:
        before = self.previous
        if before is None or before.score is None or self.current.score is None:
            return None
        return round(self.current.score - before.score, 2)


def _first_report():
    return Case.objects.aggregate(first=Min("reported_at"))["first"]


def unit_trend(
    kind: str, unit: Unit, month: date, *, scope=None, months: int = TREND_MONTHS
) -> Trend:
    """``unit`` over the ``months`` calendar months ending with ``month`` (oldest first)."""
    first_report = _first_report()
    points, key_rates = [], []
    for first in months_back(month, months):
        period = month_period(first)
        if first_report is None or period.end <= first_report:
            points.append(MonthPoint(first, None))
            continue
        evaluation = evaluate(kind, period, scope=scope, with_previous=False)
        key_rates = list(evaluation.weights["weights"])
        row = next((r for r in evaluation.rows if r.unit.id == unit.id), None)
        ranked = sum(1 for r in evaluation.rows if r.rank is not None)
        points.append(MonthPoint(first, row.as_json() if row else None, ranked))
    if not key_rates:
        key_rates = list(weights_for(kind)["weights"])
    return Trend(kind, unit, points, key_rates)
