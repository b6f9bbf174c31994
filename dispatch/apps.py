from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    """调度 — the road network (pgRouting) and the recommendation of the team to send."""

    name = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self) -> None:
        from gridmap.celery import app

        from .network import NETWORK_CATCH_UP_S, connect_signals

        connect_signals()
        # The app's own beat entry, beside the project's (settings.CELERY_BEAT_SCHEDULE): the
        # catch-up after bulk road writes, which send no signals.
        app.conf.beat_schedule = {
            **app.conf.beat_schedule,
            "dispatch-network-catch-up": {
                "task": "dispatch.tasks.network_catch_up",
                "schedule": NETWORK_CATCH_UP_S,
            },
        }
