from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    """调度 — the road network (pgRouting) and the recommendation of the team to send."""

    name = "dispatch"
    verbose_name = _("Dispatch")
