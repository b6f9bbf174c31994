from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    """考核评价 — indicators, composite scores, grades and rankings of units."""

    name = "evaluation"
    verbose_name = _("Evaluation")

    def ready(self) -> None:
        from gridmap.navigation import Page, register

        register(
            Page(
                "evaluation",
                _("Evaluation"),
                "evaluation-page",
                roles=frozenset(
                    {
                        "evaluator",
                        "commander",
                        "office_head",
                        "planner",
                        "admin",
                        "community_lead",
                        "department_head",
                    }
                ),
                landing=frozenset({"evaluator"}),
                order=60,
            )
        )
