"""Counts of the selected cases over time and by category, source, community or stage: the
figures behind a planner's charts (案件统计).

``by=week`` and ``by=month`` count per calendar week (from Monday) or month in the
deployment's time zone, every period from the first to the last one present listed, empty
ones as 0, so that a chart's axis has no holes; the other groupings list each value with its
label, largest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.db.models import Count, F
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils.translation import gettext as _

from cases.models import Case

from .selection import AnalysisInputError, selection_cases, selection_parse

GROUPINGS = ("week", "month", "category", "source", "community", "stage")


def _periods(cases, by: str) -> list[dict]:
    trunc = TruncWeek("reported_at") if by == "week" else TruncMonth("reported_at")
    counted = dict(
        cases.annotate(period=trunc).values_list("period").annotate(n=Count("id")).order_by()
    )
    if not counted:
        return []
    first, last = min(counted), max(counted)
    out, current = [], first
    while current <= last:
        out.append({"period": current.date().isoformat(), "count": counted.get(current, 0)})
        if by == "week":
            current = current + timedelta(days=7)
        else:
            month = current.month % 12 + 1
            current = current.replace(year=current.year + (current.month == 12), month=month)
    return out


def _values(cases, by: str) -> list[dict]:
    if by == "category":
        rows = cases.values(key=F("category__code"), label=F("category__minor_name"))
    elif by == "community":
        rows = cases.values(key=F("community__code"), label=F("community__name"))
    else:
        rows = cases.values(key=F(by))
    counted = rows.annotate(count=Count("id")).order_by("-count", "key")
    labels = dict(Case.Source.choices) if by == "source" else dict(Case.Stage.choices)
    labels_for = ("source", "stage")
    out = []
    for row in counted:
        label = row.get("label") or str(labels.get(row["key"], "") if by in labels_for else "")
        out.append({"key": row["key"], "label": label, "count": row["count"]})
    return out


def counts_run(params: Mapping, *, user=None) -> dict:
    """``{"by", "total", "rows": [...]}`` for the selected cases (see the module docstring)."""
    selection = selection_parse(params, user=user, allowed=("by",))
    by = params.get("by") or "week"
    if by not in GROUPINGS:
        raise AnalysisInputError(
            "by", _("unknown grouping %(b)r; known: %(k)s") % {"b": by, "k": ", ".join(GROUPINGS)}
        )
    cases = selection_cases(selection, user=user)
    total = cases.count()
    if total == 0:
        raise AnalysisInputError("filters", _("no case matches these filters"))
    rows = _periods(cases, by) if by in ("week", "month") else _values(cases, by)
    return {"by": by, "total": total, "rows": rows, "filters": selection.describe()}
