"""``{% community_figures community %}``: a community's own evaluation figures on its page
(社区页面), this month so far and last month: score, grade, rank among communities and the key
rates, with links to its unit view and monthly report.

Shown to whoever may see that community's evaluation (``access_for``: its community lead,
evaluators, leaders, planners); nothing for other roles, so the community page stays open to
the roles it was open to.
"""

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from rest_framework.exceptions import PermissionDenied

from evaluation import display
from evaluation.api import access_for
from evaluation.scores import WeightsError
from evaluation.trends import unit_find, unit_trend

register = template.Library()


@register.inclusion_tag("evaluation/community_figures.html", takes_context=True)
def community_figures(context, community) -> dict:
    user = context["request"].user
    try:
        access = access_for(user, "community")
        unit = unit_find("community", community.code, access)
    except (PermissionDenied, LookupError):
        return {"shown": False}
    month = timezone.localdate().replace(day=1)
    try:
        trend = unit_trend("community", unit, month, scope=access.scope, months=2)
    except WeightsError as exc:
        return {"shown": True, "error": str(exc)}
    months = []
    for point, so_far in ((trend.months[-1], True), (trend.months[-2], False)):
        query = urlencode({"by": "community", "unit": unit.key, "month": point.label})
        months.append(
            {
                "point": point,
                "so_far": so_far,
                "rates": [
                    (display.SHORT[name], display.rate_text(point.rate(name)))
                    for name in trend.key_rates
                ],
                "unit_url": f"{reverse('evaluation-unit')}?{query}",
                "report_url": f"{reverse('evaluation-unit-report')}?{query}",
            }
        )
    return {"shown": True, "months": months}
