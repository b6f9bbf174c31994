from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    """定位 — positions of phones and vehicles, attendance, vehicle geofences."""

    name = "tracking"
    verbose_name = _("Tracking")
