"""Coordinate reference systems: the storage CRS and its area of use.

The storage CRS (``GRIDMAP_SRID``) is metric and projected; the API speaks WGS-84 (EPSG:4326).
"""

from functools import lru_cache

import pyproj
from django.conf import settings


@lru_cache(maxsize=4)
def _area_of_use(srid: int) -> tuple[float, float, float, float]:
    area = pyproj.CRS.from_epsg(srid).area_of_use
    if area is None:
        return (-180.0, -90.0, 180.0, 90.0)
    return (area.west, area.south, area.east, area.north)


def in_storage_crs_domain(lon: float, lat: float, *, margin_deg: float = 1.0) -> bool:
    """True when a WGS-84 point lies within the storage CRS's area of use (plus a margin)."""
    west, south, east, north = _area_of_use(settings.GRIDMAP_SRID)
    return (west - margin_deg) <= lon <= (east + margin_deg) and (south - margin_deg) <= lat <= (
        north + margin_deg
    )


def clip_to_storage_crs_domain(
    bbox: tuple[float, float, float, float],
) -> tuple[float, float, float, float]:
    """Clip a WGS-84 bbox to the storage CRS's area of use, so that it can be projected."""
    west, south, east, north = _area_of_use(settings.GRIDMAP_SRID)
    minx, miny, maxx, maxy = bbox
    return (max(minx, west), max(miny, south), min(maxx, east), min(maxy, north))
