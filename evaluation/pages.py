"""The evaluation pages (考核评价).

- ``/evaluation/``: the ranking of one kind of unit over a period, with grades in their colours,
  the change against the previous period, every unit's indicator table and stage durations,
  and the monthly report to download;
- ``/evaluation/unit/?by=&unit=&month=``: one unit over the last twelve months (score, grade,
  rank and key rates month by month, drawn as charts);
- ``/evaluation/report/?by=&unit=&month=``: that unit's monthly report (月度考核报告) as a
  printable page.

Who sees what is decided as by the API (``access_for``). Bad input (an unknown kind, a month
that is not YYYY-MM or lies in the future) is a 400 page naming the problem; a unit the user
may not see is a 404, as if it did not exist.
"""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied

from gridmap.navigation import page_required

from . import charts, display
from .api import access_for
from .indicators import Period
from .report import month_period, months_back
from .scores import WeightsError
from .selectors import evaluate, period_check
from .trends import EARLIEST_YEAR, TrendInputError, kind_check, month_parse, unit_find, unit_trend
from .units import KINDS, LABELS


def _last_month() -> tuple[date, date]:
    first_this = timezone.localdate().replace(day=1)
    first_last = (first_this - timedelta(days=1)).replace(day=1)
    return first_last, first_this


@page_required("evaluation")
def evaluation_page(request: HttpRequest) -> HttpResponse:
    start, end = _last_month()
    params = request.GET
    # Departments by default: every case has one (imported history too, which names no team);
    # a community lead sees their community.
    default = {"community_lead": "community"}.get(request.user.role, "department")
    kind = params.get("by") or default
    errors = []
    try:
        start = date.fromisoformat(params["from"]) if params.get("from") else start
        end = date.fromisoformat(params["to"]) if params.get("to") else end
    except ValueError:
        errors.append(_("Dates are written YYYY-MM-DD."))
    if kind not in KINDS:
        errors.append(_("Give by= one of: %(kinds)s.") % {"kinds": ", ".join(KINDS)})
        kind = "team"
    evaluation = None
    if not errors:
        errors += _period_bounds(start, end)
    if not errors:
        try:
            period_check(start, end)
            access = access_for(request.user, kind)
            evaluation = evaluate(
                kind, Period.from_dates(start, end), scope=access.scope, only=access.only
            )
        except ApiPermissionDenied as exc:
            raise PermissionDenied(str(exc.detail)) from exc
        except (ValueError, WeightsError) as exc:
            errors.append(str(exc))
    rows = [_ranking_row(row.as_json(), start) for row in evaluation.rows] if evaluation else []
    context = {
        "kinds": [(k, LABELS[k]) for k in KINDS],
        "kind": kind,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "month": start.strftime("%Y-%m"),
        "rows": rows,
        "errors": errors,
        "indicator_heads": display.indicator_cells({"indicators": {}}),
        "stage_heads": list(display.STAGE_NAMES.values()),
    }
    return render(request, "evaluation/page.html", context)


#: The longest period the page evaluates (its previous period, as long, must still be a date).
LONGEST_PERIOD_DAYS = 366 * 30


def _period_bounds(start: date, end: date) -> list[str]:
    """A period before the calendar this platform knows, starting after today, or longer than
    thirty years has no figures: said so (instead of a failed query)."""
    if start.year < EARLIEST_YEAR:
        return [_("Give a period from %(year)s on.") % {"year": EARLIEST_YEAR}]
    if (end - start).days > LONGEST_PERIOD_DAYS:
        return [_("Give a period of at most thirty years.")]
    today = timezone.localdate()
    if start > today:
        return [
            _("The period starts after today (%(today)s): there are no figures yet.")
            % {"today": today.isoformat()}
        ]
    return []


def _unit_query(kind: str, key: str, month: date) -> str:
    return urlencode({"by": kind, "unit": key, "month": month.strftime("%Y-%m")})


def _ranking_row(row: dict, start: date) -> dict:
    """A ranking row with its indicator and duration cells and the links to its unit view."""
    query = _unit_query(row["unit"]["kind"], row["unit"]["key"], start)
    return {
        **row,
        "cells": display.indicator_cells(row) if row["status"] != "no cases" else [],
        "duration_cells": display.duration_cells(row) if row["status"] != "no cases" else [],
        "unit_url": f"{reverse('evaluation-unit')}?{query}",
        "report_url": f"{reverse('evaluation-unit-report')}?{query}",
    }


def _problem(request, message: str, status: int) -> HttpResponse:
    return render(request, "evaluation/problem.html", {"message": message}, status=status)


def _unit_context(request: HttpRequest) -> dict | HttpResponse:
    """The trend of the unit the query names, or the page that says what is wrong."""
    params = request.GET
    try:
        kind = kind_check(params.get("by"))
        month = month_parse(params.get("month"))
    except TrendInputError as exc:
        return _problem(request, str(exc), 400)
    try:
        access = access_for(request.user, kind)
    except ApiPermissionDenied as exc:
        raise PermissionDenied(str(exc.detail)) from exc
    key = params.get("unit") or ""
    try:
        unit = unit_find(kind, key, access)
    except LookupError:
        message = _("No %(kind)s %(unit)r that you may see: give unit= a unit's code or id.") % {
            "kind": LABELS[kind],
            "unit": key,
        }
        return _problem(request, message, 404)
    try:
        trend = unit_trend(kind, unit, month, scope=access.scope)
    except WeightsError as exc:
        return _problem(request, str(exc), 409)
    return _trend_context(trend, month)


def _trend_context(trend, month: date) -> dict:
    current = trend.current
    row = current.row
    counts = (row or {}).get("counts", {})
    query = _unit_query(trend.kind, trend.unit.key, month)
    months = [
        {
            "point": point,
            "rates": [display.rate_text(point.rate(name)) for name in trend.key_rates],
        }
        for point in reversed(trend.months)
    ]
    return {
        "kind": trend.kind,
        "kind_label": LABELS[trend.kind],
        "unit": trend.unit,
        "month": month,
        "month_label": month.strftime("%Y-%m"),
        "this_month": month == timezone.localdate().replace(day=1),
        "trend": trend,
        "current": current,
        "row": row,
        "cells": display.indicator_cells(row) if row and row["status"] != "no cases" else [],
        "duration_cells": (
            display.duration_cells(row) if row and row["status"] != "no cases" else []
        ),
        "by_source": display.named_counts(counts.get("by_source"), display.SOURCE_NAMES),
        "by_stage": display.named_counts(counts.get("by_stage"), display.CASE_STAGE_NAMES),
        "by_category": display.named_counts(
            counts.get("by_category"), display.category_names(counts.get("by_category"))
        ),
        "left_out": [display.INDICATORS.get(n, n) for n in (row or {}).get("score_left_out", [])],
        "key_rate_labels": [display.INDICATORS[name] for name in trend.key_rates],
        "months": months,
        "score_chart": charts.score_chart(trend, _("Score")),
        "rates_chart": charts.rates_chart(
            trend, trend.key_rates, display.SHORT, _("Key rates (%)")
        ),
        "month_choices": [
            m.strftime("%Y-%m") for m in reversed(months_back(timezone.localdate(), 24))
        ],
        "unit_url": f"{reverse('evaluation-unit')}?{query}",
        "report_url": f"{reverse('evaluation-unit-report')}?{query}",
        "xlsx_url": f"{reverse('evaluation-monthly-report')}?{query}",
        "ranking_url": f"{reverse('evaluation-page')}?"
        + urlencode({"by": trend.kind, "from": month.isoformat(), "to": _next_month(month)}),
    }


def _next_month(month: date) -> str:
    return month_period(month).end.date().isoformat()


@page_required("evaluation")
def unit_page(request: HttpRequest) -> HttpResponse:
    """One unit over the last twelve months: score, grade, rank and key rates, as charts and
    a table."""
    context = _unit_context(request)
    if isinstance(context, HttpResponse):
        return context
    return render(request, "evaluation/unit.html", context)


@page_required("evaluation")
def unit_report_page(request: HttpRequest) -> HttpResponse:
    """The monthly report (月度考核报告) of one unit, to read on screen or print."""
    context = _unit_context(request)
    if isinstance(context, HttpResponse):
        return context
    return render(request, "evaluation/report.html", context)
