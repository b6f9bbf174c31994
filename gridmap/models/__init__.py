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
from .field import Attendance, Device, Geofence, GeofenceEvent, ShiftPlan, Vehicle
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
from .tracking import Position

__all__ = [
    "STORAGE_SRID",
    "WGS84",
    "Attendance",
    "Building",
    "Community",
    "Component",
    "ComponentClass",
    "ConstructionSite",
    "Department",
    "Device",
    "District",
    "Geofence",
    "GeofenceEvent",
    "NestedArea",
    "PointOfInterest",
    "Position",
    "ResponsibilityZone",
    "Road",
    "ShiftPlan",
    "Subdistrict",
    "Team",
    "UnitGrid",
    "User",
    "Vehicle",
    "Water",
    "code_length",
]
