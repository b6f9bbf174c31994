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
        _register_pages()


def _register_pages() -> None:
    """The video wall in the top bar of the centre's staff (the first wall, when there is one)."""
    from gridmap.navigation import Page
    from gridmap.navigation import register as register_page

    from .walls import WALL_ROLES, first_wall_code

    def wall(user) -> dict | None:
        code = first_wall_code()
        return {"code": code} if code else None

    register_page(
        Page(
            "wall",
            _("Video wall"),
            "wall-page",
            roles=frozenset(WALL_ROLES),
            order=600,
            kwargs=wall,
        )
    )
