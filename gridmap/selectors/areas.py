"""Reads of the administrative areas: extent, nesting checks, unit grids in a user's scope."""

from django.conf import settings
from django.db import connection

from ..models import WGS84


def district_extent_wgs84() -> tuple[float, float, float, float] | None:
    """(min lon, min lat, max lon, max lat) of all districts, or None when none is loaded."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent(ST_Transform(geom, {WGS84})) AS e FROM gridmap_district) x"
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else tuple(row)


def nesting_violations(*, tolerance_m: float | None = None) -> list[dict]:
    """Children that stick out of their parent by more than ``tolerance_m`` metres, in SQL.

    Used after bulk loads (the demo district, imports) where checking one object at a time in
    Python would be slow. Each row: level, child code, parent code, area outside (m²).
    """
    tolerance = settings.GRIDMAP_NESTING_TOLERANCE_M if tolerance_m is None else tolerance_m
    pairs = [
        ("subdistrict", "gridmap_subdistrict", "gridmap_district", "district_id"),
        ("community", "gridmap_community", "gridmap_subdistrict", "subdistrict_id"),
        ("grid", "gridmap_unitgrid", "gridmap_community", "community_id"),
    ]
    rows = []
    with connection.cursor() as cursor:
        for level, child, parent, fk in pairs:
            # Each parent is grown once (CTE), not once per child.
            cursor.execute(
                f"WITH p AS MATERIALIZED (SELECT id, code, geom, ST_Buffer(geom, %s) AS grown "
                f"FROM {parent}) "
                f"SELECT c.code, p.code, ST_Area(ST_Difference(c.geom, p.geom)) "
                f"FROM {child} c JOIN p ON p.id = c.{fk} "
                f"WHERE NOT ST_Covers(p.grown, c.geom) ORDER BY c.code",
                [tolerance],
            )
            rows.extend(
                {"level": level, "code": c, "parent_code": p, "outside_m2": a}
                for c, p, a in cursor.fetchall()
            )
    return rows


def grids_visible_to(user):
    """Unit grids the user may see: their community's, their subdistrict's, or all."""
    from ..models import UnitGrid

    grids = UnitGrid.objects.select_related("community__subdistrict")
    if user.community_id:
        return grids.filter(community_id=user.community_id)
    if user.subdistrict_id:
        return grids.filter(community__subdistrict_id=user.subdistrict_id)
    return grids


def grid_detail(*, code: str, user) -> dict | None:
    """A unit grid with its community, subdistrict, area (m²) and the zones it overlaps.

    None when there is no such grid *or* it lies outside the user's scope: the two must be
    indistinguishable to the caller (a 404 either way).
    """
    from ..models import ResponsibilityZone

    grid = grids_visible_to(user).filter(code=code).first()
    if grid is None:
        return None
    # Zones whose interior meets the grid's interior: a zone that only touches the grid's
    # edge is not one of "its" zones.
    zones = (
        ResponsibilityZone.objects.filter(
            geom__bboverlaps=grid.geom, geom__relate=(grid.geom, "T********")
        )
        .order_by("kind", "code")
        .values("code", "name", "kind", "holder")
    )
    community = grid.community
    return {
        "code": grid.code,
        "name": grid.name,
        "land_use": grid.land_use,
        "area_m2": grid.geom.area,
        "community": {"code": community.code, "name": community.name},
        "subdistrict": {"code": community.subdistrict.code, "name": community.subdistrict.name},
        "zones": list(zones),
    }
