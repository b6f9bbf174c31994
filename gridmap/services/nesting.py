"""The nesting rule: a child area (subdistrict, community, grid) must lie within its parent."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry


@dataclass(frozen=True)
class NestingProblem:
    """How much of a child lies outside its parent, and a WGS-84 point inside that excess."""

    area_m2: float
    lon: float
    lat: float


def outside_parent(
    child: GEOSGeometry, parent: GEOSGeometry, *, tolerance_m: float | None = None
) -> NestingProblem | None:
    """Return None when ``child`` lies within ``parent`` grown by ``tolerance_m`` metres.

    Both geometries are in the (metric) storage CRS. Otherwise the area outside the parent (m²)
    and a WGS-84 point inside it, so that the error message can say where to look.
    """
    tolerance = settings.GRIDMAP_NESTING_TOLERANCE_M if tolerance_m is None else tolerance_m
    if parent.buffer(tolerance).covers(child):
        return None
    excess = child.difference(parent)
    where = excess.point_on_surface if not excess.empty else child.point_on_surface
    where = where.transform(4326, clone=True)
    return NestingProblem(area_m2=excess.area, lon=where.x, lat=where.y)
