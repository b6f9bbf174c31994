"""The planner page (规划分析): filters, heatmap and hotspot previews on the district's own map,
downloads, counts over time and by category. The page is a client of the analysis API."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from cases.models import Case, Category
from gridmap.models import Community
from gridmap.navigation import page_required

from .hotspots import CLASS_NAMES


def _labels() -> dict:
    return {
        "heatmap": _("Heatmap"),
        "hotspots": _("Hotspots"),
        "cases": _("cases"),
        "perKm2": _("cases per km²"),
        "noData": _("No case matches these filters."),
        "byWeek": _("Cases per week"),
        "byCategory": _("Cases by category"),
        "classes": {
            # xgettext:no-python-format
            "hot_99": _("hot spot, 99 % confidence"),
            # xgettext:no-python-format
            "hot_95": _("hot spot, 95 % confidence"),
            # xgettext:no-python-format
            "hot_90": _("hot spot, 90 % confidence"),
            "not_significant": _("not significant"),
            # xgettext:no-python-format
            "cold_90": _("cold spot, 90 % confidence"),
            # xgettext:no-python-format
            "cold_95": _("cold spot, 95 % confidence"),
            # xgettext:no-python-format
            "cold_99": _("cold spot, 99 % confidence"),
        },
        "trends": {
            "new": _("new"),
            "intensifying": _("intensifying"),
            "persistent": _("persistent"),
            "diminishing": _("diminishing"),
            "sporadic": _("sporadic"),
        },
    }


@page_required("planner")
def planner(request: HttpRequest) -> HttpResponse:
    """Filters on the left, the map in the middle, charts below."""
    from gridmap.views import _map_config

    user = request.user
    communities = Community.objects.order_by("code")
    if user.community_id:
        communities = communities.filter(pk=user.community_id)
    config = _map_config() | {
        "api": {
            "heatmap": reverse("analysis-heatmap"),
            "hotspots": reverse("analysis-hotspots"),
            "export": reverse("analysis-export"),
            "counts": reverse("analysis-counts"),
        },
        "plannerLabels": _labels(),
        "classes": list(CLASS_NAMES.values()),
    }
    context = {
        "map_config": config,
        "categories": Category.objects.filter(active=True).order_by("code"),
        "sources": Case.Source.choices,
        "stages": Case.Stage.choices,
        "communities": communities,
    }
    return render(request, "analysis/planner.html", context)
