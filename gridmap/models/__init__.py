"""The district's spatial backbone: administrative areas, zones, base geography, organisation."""

from .base import STORAGE_SRID, WGS84
from .basemap import (
    Building,
    Component,
    ComponentClass,
    ConstructionSite,
    PointOfInterest,
    Road,
    Water,
)
from .geography import (
    Community,
    District,
    NestedArea,
    ResponsibilityZone,
    Subdistrict,
    UnitGrid,
    code_length,
)
from .organisation import Department, Team, User

__all__ = [
    "STORAGE_SRID",
    "WGS84",
    "Building",
    "Community",
    "Component",
    "ComponentClass",
    "ConstructionSite",
    "Department",
    "District",
    "NestedArea",
    "PointOfInterest",
    "ResponsibilityZone",
    "Road",
    "Subdistrict",
    "Team",
    "UnitGrid",
    "User",
    "Water",
    "code_length",
]
