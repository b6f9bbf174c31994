from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    """考核评价 — indicators, composite scores, grades and rankings of units."""

    name = "evaluation"
    verbose_name = _("Evaluation")
