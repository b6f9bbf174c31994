"""Map-enabled admin for the backbone (django-leaflet; Leaflet served from the package).

Saving through the admin runs the models' ``clean()``: codes are checked against the configured
layout and a child area that sticks out of its parent is refused with the area and place named.
The admin maps draw the district's own roads, water and buildings underneath (no online tiles).
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from . import models


class BackboneAdmin(LeafletGeoAdmin):
    """Shared admin behaviour: searchable by code and name, the district drawn as a basemap."""

    search_fields = ["code", "name"]
    list_per_page = 50

    class Media:
        js = ["gridmap/admin-basemap.js"]


@admin.register(models.District)
class DistrictAdmin(BackboneAdmin):
    list_display = ["code", "name"]


@admin.register(models.Subdistrict)
class SubdistrictAdmin(BackboneAdmin):
    list_display = ["code", "name", "district"]


@admin.register(models.Community)
class CommunityAdmin(BackboneAdmin):
    list_display = ["code", "name", "subdistrict", "leader"]
    list_filter = ["subdistrict"]
    autocomplete_fields = ["leader"]


@admin.register(models.UnitGrid)
class UnitGridAdmin(BackboneAdmin):
    list_display = ["code", "community", "land_use", "area_m2"]
    list_filter = ["community", "land_use"]
    readonly_fields = ["area_m2"]


@admin.register(models.ResponsibilityZone)
class ResponsibilityZoneAdmin(BackboneAdmin):
    list_display = ["code", "name", "kind", "holder", "contact", "community"]
    list_filter = ["kind", "community"]
    search_fields = ["code", "name", "holder", "contact"]
    autocomplete_fields = ["responsible_user"]


@admin.register(models.Road)
class RoadAdmin(BackboneAdmin):
    list_display = ["code", "name", "road_class", "oneway", "bridge", "speed_kmh"]
    list_filter = ["road_class", "oneway", "bridge"]


@admin.register(models.Building)
class BuildingAdmin(BackboneAdmin):
    list_display = ["code", "name", "use", "floors", "height_m"]
    list_filter = ["use"]


@admin.register(models.PointOfInterest)
class PointOfInterestAdmin(BackboneAdmin):
    list_display = ["code", "name", "kind", "address"]
    list_filter = ["kind"]


@admin.register(models.Water)
class WaterAdmin(BackboneAdmin):
    list_display = ["code", "name", "kind"]


@admin.register(models.ConstructionSite)
class ConstructionSiteAdmin(BackboneAdmin):
    list_display = ["code", "name", "permit_no", "permit_from", "permit_to", "contractor"]


@admin.register(models.ComponentClass)
class ComponentClassAdmin(admin.ModelAdmin):
    list_display = ["code", "major_name", "minor_name"]
    list_filter = ["major_name"]


@admin.register(models.Component)
class ComponentAdmin(BackboneAdmin):
    list_display = ["code", "component_class", "owner_department", "owner_name", "condition"]
    list_filter = ["component_class__major_name", "condition", "owner_department"]
    search_fields = ["code", "name", "owner_name"]


@admin.register(models.Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ShiftPlanInline(admin.TabularInline):
    """排班 — the team's shift roster: dispatch and attendance read it."""

    model = models.ShiftPlan
    extra = 0


@admin.register(models.Team)
class TeamAdmin(BackboneAdmin):
    list_display = ["code", "name", "department", "kind", "status", "position_at"]
    list_filter = ["department", "kind", "status"]
    filter_horizontal = ["jurisdictions"]
    inlines = [ShiftPlanInline]


@admin.register(models.User)
class GridmapUserAdmin(UserAdmin):
    list_display = ["username", "first_name", "role", "department", "team", "community"]
    list_filter = ["role", "department", "team", "community", "is_active"]
    search_fields = ["username", "first_name", "last_name", "phone"]
    fieldsets = [
        *UserAdmin.fieldsets,
        (
            _("Role and scope"),
            {"fields": ["role", "phone", "department", "team", "subdistrict", "community"]},
        ),
    ]
    add_fieldsets = [
        *UserAdmin.add_fieldsets,
        (_("Role and scope"), {"fields": ["role", "department", "team", "community"]}),
    ]
