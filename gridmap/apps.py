from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridmapConfig(AppConfig):
    name = "gridmap"
    verbose_name = _("District backbone")

    def ready(self) -> None:
        from . import (  # noqa: F401  (registers the system checks and the schema extension)
            authentication,
            checks,
        )
        from .navigation import Page, register

        register(Page("map", _("District map"), "map", order=500))
        register(Page("admin", _("Administration"), "admin:index", order=1000, staff=True))
