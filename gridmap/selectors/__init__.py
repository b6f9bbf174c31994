"""Reads of the spatial backbone (HackSoft style: selectors read, services write)."""

from .areas import district_extent_wgs84, grid_detail, grids_visible_to, nesting_violations
from .geocode import Address, AreaRef, ZoneRef, geocode_point

__all__ = [
    "Address",
    "AreaRef",
    "ZoneRef",
    "district_extent_wgs84",
    "geocode_point",
    "grid_detail",
    "grids_visible_to",
    "nesting_violations",
]
