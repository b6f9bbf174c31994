from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CamerasConfig(AppConfig):
    name = "cameras"
    verbose_name = _("Cameras")

    def ready(self) -> None:
        from .importing import register
        from .viewshed import connect_signals

        register()
        connect_signals()
