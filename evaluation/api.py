"""``GET /api/v1/evaluation?from=&to=&by=``: the evaluation as JSON; ``GET
/api/v1/evaluation/report.xlsx?month=&by=[&unit=]``: the monthly report (月度考核报告) as XLSX.

Who may ask: evaluators (考核), leaders (commander, office head), planners and administrators
see every unit (narrowed to the cases of their subdistrict or community when their account has
one); a community lead (社区负责人) sees only their own community's row (``by=community``), a
department head only their department's (``by=department``), ranked among all. Anyone else:
403. Bad input (a missing or malformed date, dates in the wrong order, an empty period, an
unknown ``by``): 400 naming the parameter.
"""

from dataclasses import dataclass
from datetime import date

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmap.models import User

from .indicators import Period, Scope
from .report import monthly_report_xlsx
from .scores import WeightsError
from .selectors import evaluate, period_check
from .trends import TrendInputError, kind_check, month_parse, unit_find, unit_trend
from .units import KINDS

#: Roles that see every unit's figures.
EVALUATION_ROLES = {
    User.Role.EVALUATOR,
    User.Role.COMMANDER,
    User.Role.OFFICE_HEAD,
    User.Role.PLANNER,
    User.Role.ADMIN,
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Access:
    """What one user may see of an evaluation."""

    scope: Scope
    only: object = None


def access_for(user, kind: str) -> Access:
    """The scope and row filter of ``user`` for units of ``kind``; PermissionDenied if none."""
    role = user.role
    if role in EVALUATION_ROLES:
        return Access(Scope(community_id=user.community_id, subdistrict_id=user.subdistrict_id))
    if role == User.Role.COMMUNITY_LEAD and user.community_id:
        if kind != "community":
            raise PermissionDenied(
                _("A community lead sees their own community's figures: use by=community.")
            )
        community = user.community_id
        return Access(Scope(), only=lambda unit: unit.id == community)
    if role == User.Role.DEPARTMENT_HEAD and user.department_id:
        if kind != "department":
            raise PermissionDenied(
                _("A department head sees their own department's figures: use by=department.")
            )
        department = user.department_id
        return Access(Scope(), only=lambda unit: unit.id == department)
    raise PermissionDenied(
        _("A %(role)s does not see evaluations (evaluators, leaders and planners do).")
        % {"role": role}
    )


def _kind(params) -> str:
    kind = params.get("by") or ""
    if kind not in KINDS:
        raise ValidationError(
            {"by": _("Give by= one of: %(kinds)s.") % {"kinds": ", ".join(KINDS)}}
        )
    return kind


def _date(params, name: str) -> date:
    text = params.get(name)
    if not text:
        raise ValidationError({name: _("Give %(name)s= as YYYY-MM-DD.") % {"name": name}})
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {name: _("%(value)r is not a date: give YYYY-MM-DD.") % {"value": text}}
        ) from None


def _weights_failed(exc: WeightsError):
    return Response({"detail": str(exc)}, status=409)


class EvaluationView(APIView):
    """Indicators, scores, grades and ranking of every unit of ``by`` over ``[from, to)``."""

    @extend_schema(
        operation_id="evaluation",
        parameters=[
            OpenApiParameter("from", str, required=True, description="first day, YYYY-MM-DD"),
            OpenApiParameter("to", str, required=True, description="day after the last"),
            OpenApiParameter("by", str, required=True, enum=list(KINDS)),
        ],
        responses={200: None, 400: None, 403: None},
    )
    def get(self, request):
        kind = _kind(request.query_params)
        first, end = _date(request.query_params, "from"), _date(request.query_params, "to")
        try:
            period_check(first, end)
        except ValueError as exc:
            raise ValidationError({"to": str(exc)}) from None
        access = access_for(request.user, kind)
        try:
            evaluation = evaluate(
                kind, Period.from_dates(first, end), scope=access.scope, only=access.only
            )
        except WeightsError as exc:
            return _weights_failed(exc)
        return Response(evaluation.as_json())


class MonthlyReportView(APIView):
    """The monthly report (月度考核报告) of one unit, or of every unit of ``by``, as XLSX."""

    @extend_schema(
        operation_id="evaluation_monthly_report",
        parameters=[
            OpenApiParameter("month", str, required=True, description="YYYY-MM"),
            OpenApiParameter("by", str, required=True, enum=list(KINDS)),
            OpenApiParameter("unit", str, description="a unit's code (or username)"),
        ],
        responses={(200, XLSX): bytes, 400: None, 403: None, 404: None},
    )
    def get(self, request):
        kind = _kind(request.query_params)
        text = request.query_params.get("month") or ""
        if not text:
            raise ValidationError({"month": _("Give month= as YYYY-MM.")})
        try:
            month = month_parse(text)
        except TrendInputError as exc:
            raise ValidationError({"month": str(exc)}) from None
        access = access_for(request.user, kind)
        unit = request.query_params.get("unit") or None
        try:
            data = monthly_report_xlsx(
                kind, month, key=unit, scope=access.scope, only=access.only, missing_ok=False
            )
        except LookupError:
            return Response({"detail": _("No unit %(unit)s.") % {"unit": unit}}, status=404)
        except WeightsError as exc:
            return _weights_failed(exc)
        name = f"evaluation-{kind}-{month:%Y-%m}{'-' + unit if unit else ''}.xlsx"
        response = HttpResponse(data, content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class TrendView(APIView):
    """One unit's last twelve calendar months up to ``month`` (default: this month so far):
    score, grade, rank among all units and every rate, month by month (oldest first)."""

    @extend_schema(
        operation_id="evaluation_trend",
        parameters=[
            OpenApiParameter("by", str, required=True, enum=list(KINDS)),
            OpenApiParameter("unit", str, required=True, description="a unit's code, or id"),
            OpenApiParameter("month", str, description="YYYY-MM, not in the future"),
        ],
        responses={200: None, 400: None, 403: None, 404: None},
    )
    def get(self, request):
        params = request.query_params
        try:
            kind = kind_check(params.get("by"))
        except TrendInputError as exc:
            raise ValidationError({"by": str(exc)}) from None
        try:
            month = month_parse(params.get("month"))
        except TrendInputError as exc:
            raise ValidationError({"month": str(exc)}) from None
        access = access_for(request.user, kind)
        key = params.get("unit") or ""
        try:
            unit = unit_find(kind, key, access)
        except LookupError:
            return Response({"detail": _("No unit %(unit)s.") % {"unit": key}}, status=404)
        try:
            trend = unit_trend(kind, unit, month, scope=access.scope)
        except WeightsError as exc:
            return _weights_failed(exc)
        return Response(trend.as_json())
