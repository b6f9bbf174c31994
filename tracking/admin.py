"""Admin of the field-team models (定位、考勤、车辆): devices with a token action, vehicles,
geofences on a map, and read-only lists of geofence events and attendance."""

from django.contrib import admin, messages
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from gridmap.admin import BackboneAdmin
from gridmap.models import Attendance, Device, Geofence, GeofenceEvent, Vehicle

from .services.devices import device_token_issue


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["unit_id", "kind", "team", "vehicle", "active", "last_fix_at"]
    list_filter = ["kind", "active", "team"]
    search_fields = ["unit_id", "vehicle__plate", "vehicle__code"]
    autocomplete_fields = ["vehicle"]
    raw_id_fields = ["user"]
    readonly_fields = ["last_fix_at"]
    actions = ["issue_token"]

    @admin.action(description=_("Issue a new token (shown once; the old one stops working)"))
    def issue_token(self, request, queryset):
        issued = [(d.unit_id, device_token_issue(device=d, rotate=True)) for d in queryset]
        self.message_user(
            request,
            format_html_join(" · ", "{}: <code>{}</code>", issued),
            level=messages.WARNING,
        )


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ["code", "plate", "kind", "team", "operator"]
    list_filter = ["kind", "team"]
    search_fields = ["code", "plate", "operator"]


@admin.register(Geofence)
class GeofenceAdmin(BackboneAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "vehicle_kind",
        "team",
        "active_from",
        "active_to",
        "buffer_m",
        "case_category",
    ]
    list_filter = ["kind", "vehicle_kind"]
    filter_horizontal = ["vehicles"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the platform only (fix intake, check-ins, the sweeps)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GeofenceEvent)
class GeofenceEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "vehicle", "geofence", "kind", "ended_at", "case"]
    list_filter = ["kind", "geofence"]
    list_select_related = ["vehicle", "geofence", "case"]
    date_hierarchy = "at"


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    list_display = ["at", "team", "user", "kind", "status", "distance_m", "shift_start", "note"]
    list_filter = ["kind", "status", "team"]
    list_select_related = ["team", "user"]
    date_hierarchy = "at"
