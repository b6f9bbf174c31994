"""The evaluator page (考核评价): the ranking of one kind of unit over a period, with grades in
their colours, the change against the previous period and the monthly report to download."""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied

from gridmap.navigation import page_required

from .api import access_for
from .indicators import Period
from .scores import WeightsError
from .selectors import evaluate, period_check
from .units import KINDS, LABELS


def _last_month() -> tuple[date, date]:
    first_this = timezone.localdate().replace(day=1)
    first_last = (first_this - timedelta(days=1)).replace(day=1)
    return first_last, first_this


@page_required("evaluation")
def evaluation_page(request: HttpRequest) -> HttpResponse:
    start, end = _last_month()
    params = request.GET
    kind = params.get("by") or ("community" if request.user.role == "community_lead" else "team")
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
    rows = [row.as_json() for row in evaluation.rows] if evaluation else []
    context = {
        "kinds": [(k, LABELS[k]) for k in KINDS],
        "kind": kind,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "month": start.strftime("%Y-%m"),
        "rows": rows,
        "errors": errors,
    }
    return render(request, "evaluation/page.html", context)
