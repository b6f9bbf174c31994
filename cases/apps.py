from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save
        from django.utils.translation import gettext_lazy as _

        from gridmap.navigation import Page, register

        from .calendar import calendar_changed
        from .models import WorkingDayException

        for signal in (post_save, post_delete):
            signal.connect(
                calendar_changed, sender=WorkingDayException, dispatch_uid=f"cal-{signal}"
            )

        register(Page("inbox", _("Notifications"), "inbox-page", order=900))
        field_roles = frozenset({"field_member", "team_leader", "inspector"})
        register(Page("field", _("My tasks"), "field-page", roles=field_roles, landing=field_roles))
        from .selectors import DISTRICT_ROLES

        centre = frozenset({"commander", "dispatcher", "operator", "shift_leader"})
        register(
            Page("console", _("Console"), "console-page", roles=centre, landing=centre, order=10)
        )
        register(Page("screen", _("Big screen"), "big-screen", roles=centre, order=11))

        register(
            Page(
                "community",
                _("My community"),
                "community-page",
                roles=frozenset(DISTRICT_ROLES | {"community_lead"}),
                landing=frozenset({"community_lead"}),
                order=50,
                # In the top bar of community leads only; others open it from the map.
                kwargs=lambda user: {"code": user.community.code} if user.community_id else None,
            )
        )
