"""Store unit grids: the database side of the grid splitter (``grids.split_area``)."""

import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction

from ..models import Community, Road, UnitGrid
from .grids import split_area


def community_generate_grids(
    *,
    community: Community,
    target_area_m2: float = 10_000.0,
    along_roads: bool = False,
    replace: bool = False,
) -> list[UnitGrid]:
    """Split a community into unit grids and store them (one transaction).

    Grid codes are the community code plus a sequence of the layout's last level (3 digits by
    default). Refuses when the community already has grids unless ``replace`` is set.
    Returns the new ``UnitGrid`` rows in numbering order.
    """
    digits = settings.GRIDMAP_GRID_CODE_LAYOUT[-1]
    area = shapely.from_wkb(bytes(community.geom.wkb))
    roads = []
    if along_roads:
        roads = [
            shapely.from_wkb(bytes(r.geom.wkb))
            for r in Road.objects.filter(geom__intersects=community.geom).only("geom")
        ]
    pieces = split_area(area, target_area_m2=target_area_m2, roads=roads)
    if len(pieces) >= 10**digits:
        raise ValueError(
            f"community {community.code} would get {len(pieces)} grids, more than the "
            f"{digits}-digit sequence of the grid code layout allows"
        )
    with transaction.atomic():
        existing = UnitGrid.objects.filter(community=community)
        if existing.exists():
            if not replace:
                raise ValueError(
                    f"community {community.code} already has {existing.count()} grids; "
                    "pass replace=True to regenerate them"
                )
            existing.delete()
        grids = []
        for piece in pieces:
            geom = GEOSGeometry(memoryview(piece.geom.wkb), srid=community.geom.srid)
            if geom.geom_type == "Polygon":
                geom = MultiPolygon(geom, srid=geom.srid)
            grids.append(
                UnitGrid(
                    community=community,
                    code=f"{community.code}{piece.sequence:0{digits}d}",
                    geom=geom,
                    area_m2=geom.area,
                )
            )
        return UnitGrid.objects.bulk_create(grids)
