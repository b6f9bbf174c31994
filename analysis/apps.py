from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalysisConfig(AppConfig):
    """分析 — heatmaps, hotspots (Getis-Ord Gi*), exports of case sets for planners."""

    name = "analysis"
    verbose_name = _("Analysis")

    def ready(self) -> None:
        from gridmap.navigation import Page, register

        from .selection import ANALYSIS_ROLES

        register(
            Page(
                "planner",
                _("Analysis"),
                "planner-page",
                roles=frozenset(ANALYSIS_ROLES),
                landing=frozenset({"planner", "evaluator"}),
                order=60,
            )
        )
