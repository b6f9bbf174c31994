from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalysisConfig(AppConfig):
    """分析 — heatmaps, hotspots (Getis-Ord Gi*), exports of case sets for planners."""

    name = "analysis"
    verbose_name = _("Analysis")
