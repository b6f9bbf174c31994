"""The layers a map can ask for, and how each is read.

Each layer names its table, the properties it exposes (output name → SQL column expression over
the alias ``t``) and whether it is *managed* — areas and objects a scoped user (a community lead)
may only see inside their own area — or *base* geography (roads, buildings, water…) that every
logged-in user sees in full as the basemap.
"""

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Layer:
    name: str
    title: Promise
    table: str
    geometry: str  # "polygon", "line" or "point", for the map's styling
    properties: dict[str, str] = field(default_factory=dict)
    geom_column: str = "geom"
    managed: bool = True
    #: Query parameters accepted as equality filters: parameter → column.
    filters: dict[str, str] = field(default_factory=dict)
    #: Extra condition always applied (constant SQL, no user input).
    where: str = ""


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in [
        Layer(
            "district",
            _("District"),
            "gridmap_district",
            "polygon",
            {"code": "t.code", "name": "t.name"},
            managed=False,
        ),
        Layer(
            "subdistricts",
            _("Subdistricts"),
            "gridmap_subdistrict",
            "polygon",
            {"code": "t.code", "name": "t.name"},
            managed=False,
        ),
        Layer(
            "communities",
            _("Communities"),
            "gridmap_community",
            "polygon",
            {"code": "t.code", "name": "t.name"},
        ),
        Layer(
            "grids",
            _("Unit grids"),
            "gridmap_unitgrid",
            "polygon",
            {
                "code": "t.code",
                "name": "t.name",
                "land_use": "t.land_use",
                "area_m2": "round(t.area_m2::numeric, 1)",
                "community": "(SELECT c.name FROM gridmap_community c WHERE c.id = t.community_id)",
            },
        ),
        Layer(
            "zones",
            _("Responsibility zones"),
            "gridmap_responsibilityzone",
            "polygon",
            {
                "code": "t.code",
                "name": "t.name",
                "kind": "t.kind",
                "holder": "t.holder",
                "contact": "t.contact",
            },
            filters={"kind": "t.kind"},
        ),
        Layer(
            "roads",
            _("Roads"),
            "gridmap_road",
            "line",
            {
                "code": "t.code",
                "name": "t.name",
                "road_class": "t.road_class",
                "oneway": "t.oneway",
                "bridge": "t.bridge",
            },
            managed=False,
        ),
        Layer(
            "water",
            _("Water"),
            "gridmap_water",
            "polygon",
            {"code": "t.code", "name": "t.name", "kind": "t.kind"},
            managed=False,
        ),
        Layer(
            "buildings",
            _("Buildings"),
            "gridmap_building",
            "polygon",
            {"code": "t.code", "use": "t.use", "height_m": "t.height_m", "floors": "t.floors"},
            managed=False,
        ),
        Layer(
            "pois",
            _("Points of interest"),
            "gridmap_pointofinterest",
            "point",
            {"code": "t.code", "name": "t.name", "kind": "t.kind", "address": "t.address"},
            managed=False,
            filters={"kind": "t.kind"},
        ),
        Layer(
            "construction_sites",
            _("Construction sites"),
            "gridmap_constructionsite",
            "polygon",
            {
                "code": "t.code",
                "name": "t.name",
                "permit_no": "t.permit_no",
                "permit_from": "t.permit_from",
                "permit_to": "t.permit_to",
                "contractor": "t.contractor",
            },
            managed=False,
        ),
        Layer(
            "components",
            _("City components"),
            "gridmap_component",
            "point",
            {
                "code": "t.code",
                "name": "t.name",
                "condition": "t.condition",
                "class": "(SELECT k.minor_name FROM gridmap_componentclass k "
                "WHERE k.id = t.component_class_id)",
            },
        ),
        Layer(
            "teams",
            _("Teams"),
            "gridmap_team",
            "point",
            {
                "code": "t.code",
                "name": "t.name",
                "kind": "t.kind",
                "status": "t.status",
                "position_at": "t.position_at",
                "department": "(SELECT d.name FROM gridmap_department d "
                "WHERE d.id = t.department_id)",
            },
            geom_column="coalesce(t.position_geom, t.base_geom)",
        ),
    ]
}
