"""Admin of cameras and video walls (django-leaflet; every asset served locally).

A camera is placed on a map (the district's roads and water drawn underneath); its change page
also shows, read-only, what it sees: the field-of-view sector (dashed) and the stored viewshed
(filled), which the viewshed task recomputes after a save. Fields an importer filled in by
default are listed so that someone checks them on site. Camera events are read-only: they are
the devices' record.
"""

import json

from django.contrib import admin
from django.contrib.gis.geos import Polygon
from django.core.exceptions import FieldDoesNotExist
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, json_script
from django.utils.translation import gettext_lazy as _

from gridmap.admin import BackboneAdmin
from gridmap.models import WGS84

from .models import Camera, CameraEvent, VideoWall, WallPreset, WallTile
from .viewshed import sector


def fov_sector(camera: Camera) -> Polygon:
    """The bare field-of-view sector (no buildings taken off) in the storage CRS, for drawing."""
    shape = sector(
        camera.geom.x, camera.geom.y, camera.heading_deg, camera.effective_fov_deg, camera.range_m
    )
    return Polygon(list(shape.exterior.coords), srid=camera.geom.srid)


def _geojson(geom) -> dict | None:
    if geom is None or geom.empty:
        return None
    return json.loads(geom.transform(WGS84, clone=True).geojson)


def _field_label(name: str) -> str:
    """A camera field's verbose name (an importer records field names), or the name itself."""
    try:
        return str(Camera._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


class DefaultedListFilter(admin.SimpleListFilter):
    """Cameras with fields an importer filled in by default (to be checked on site)."""

    title = _("defaults to check")
    parameter_name = "defaulted"

    def lookups(self, request, model_admin):
        return [("yes", _("some fields defaulted")), ("no", _("none defaulted"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(defaulted=[])
        if self.value() == "no":
            return queryset.filter(defaulted=[])
        return queryset


@admin.register(Camera)
class CameraAdmin(BackboneAdmin):
    list_display = [
        "code",
        "name",
        "status",
        "ptz",
        "heading_deg",
        "fov_shown",
        "range_m",
        "owner",
        "has_viewshed",
        "defaulted_shown",
    ]
    list_filter = ["status", "ptz", "owner", DefaultedListFilter]
    search_fields = ["code", "name"]
    autocomplete_fields = ["device_user"]
    readonly_fields = [
        "viewshed_map",
        "viewshed_computed_at",
        "last_heartbeat_at",
        "defaulted_shown",
        "fov_shown",
    ]
    fieldsets = [
        (None, {"fields": ["code", "name", "geom", "owner", "status", "last_heartbeat_at"]}),
        (
            _("Field of view"),
            {
                "fields": [
                    "mount_height_m",
                    "heading_deg",
                    "fov_deg",
                    ("focal_length_mm", "sensor_width_mm"),
                    "fov_shown",
                    "range_m",
                    "ptz",
                ]
            },
        ),
        (_("Video"), {"fields": ["stream_url", "snapshot_url", "device_user"]}),
        (
            _("What it sees"),
            {"fields": ["viewshed_map", "viewshed_computed_at", "defaulted_shown"]},
        ),
    ]

    class Media:
        js = ["gridmap/admin-basemap.js", "cameras/admin-viewshed.js"]
        css = {"all": ["cameras/admin-viewshed.css"]}

    @admin.display(description=_("field of view used (°)"))
    def fov_shown(self, camera: Camera) -> str:
        return f"{camera.effective_fov_deg:.1f}"

    @admin.display(description=_("viewshed"), boolean=True)
    def has_viewshed(self, camera: Camera) -> bool:
        return camera.viewshed_geom is not None

    @admin.display(description=_("defaulted fields (check on site)"))
    def defaulted_shown(self, camera: Camera) -> str:
        if not camera.defaulted:
            return "—"
        return ", ".join(_field_label(str(name)) for name in camera.defaulted)

    @admin.display(description=_("viewshed map"))
    def viewshed_map(self, camera: Camera) -> str:
        if camera.pk is None or camera.geom is None:
            return _("Shown after the camera is saved.")
        data = {
            "camera": _geojson(camera.geom),
            "sector": _geojson(fov_sector(camera)),
            "viewshed": _geojson(camera.viewshed_geom),
            "labels": {
                "sector": str(_("field of view")),
                "viewshed": str(_("viewshed (buildings taken off)")),
                "none": str(_("The viewshed has not been computed yet.")),
            },
        }
        element = f"viewshed-data-{camera.pk}"
        return format_html(
            '<div class="viewshed-map" data-testid="viewshed-map" data-source="{}"></div>{}',
            element,
            json_script(data, element),
        )


class WallTileFormSet(BaseInlineFormSet):
    """Refuses a tile the wall does not have (also when the wall is made smaller)."""

    def clean(self):
        super().clean()
        wall = self.instance
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            row, col = data.get("row"), data.get("col")
            if row is not None and row >= wall.rows:
                form.add_error(
                    "row",
                    _("Row %(row)s is not on a wall of %(rows)s rows (rows are counted from 0).")
                    % {"row": row, "rows": wall.rows},
                )
            if col is not None and col >= wall.cols:
                form.add_error(
                    "col",
                    _("Column %(col)s is not on a wall of %(cols)s columns (counted from 0).")
                    % {"col": col, "cols": wall.cols},
                )


class WallTileInline(admin.TabularInline):
    """The camera each tile shows now (row and column from 0)."""

    model = WallTile
    formset = WallTileFormSet
    extra = 0
    autocomplete_fields = ["camera"]


class WallPresetInline(admin.StackedInline):
    """预置方案 — saved layouts: ``[{"row", "col", "camera"}]`` with camera codes."""

    model = WallPreset
    extra = 0


@admin.register(VideoWall)
class VideoWallAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "rows", "cols", "page_link"]
    search_fields = ["code", "name"]
    readonly_fields = ["page_link"]
    inlines = [WallTileInline, WallPresetInline]

    @admin.display(description=_("wall page"))
    def page_link(self, wall: VideoWall) -> str:
        if wall.pk is None:
            return "—"
        url = reverse("wall-page", args=[wall.code])
        return format_html('<a href="{}" target="_blank">{}</a>', url, url)


@admin.register(CameraEvent)
class CameraEventAdmin(admin.ModelAdmin):
    """Read-only: what the cameras' analytics reported, and the case each became."""

    list_display = ["at", "camera", "detected", "category", "confidence", "case", "duplicate_of"]
    list_filter = ["category"]
    search_fields = ["camera__code", "camera__name", "detected"]
    date_hierarchy = "at"
    list_select_related = ["camera", "category", "case"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
