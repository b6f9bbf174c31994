"""Reads of the spatial backbone: the geocoder (which areas cover a point) and nesting checks.

The geocoder is the MapIt question — "which areas cover this point?" — answered in one round trip:
the unit grid covering the point drives the answer (its community and subdistrict follow by
foreign key, because grids tile communities which tile subdistricts); only when no grid covers the
point are the communities, subdistricts and the district asked directly. Zones overlap, so all
zones covering the point are listed. ``ST_Covers`` (not ``ST_Contains``) so that a point on a
shared edge still finds an area; ties go to the lowest code, so the answer is deterministic.
"""

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from .crs import in_storage_crs_domain
from .models import STORAGE_SRID, WGS84


@dataclass(frozen=True)
class AreaRef:
    code: str
    name: str


@dataclass(frozen=True)
class ZoneRef:
    code: str
    name: str
    kind: str
    holder: str


@dataclass(frozen=True)
class Address:
    """The areas covering a point. ``district`` is None when the point is outside the district."""

    district: AreaRef | None
    subdistrict: AreaRef | None = None
    community: AreaRef | None = None
    grid: AreaRef | None = None
    zones: list[ZoneRef] = field(default_factory=list)

    @property
    def inside(self) -> bool:
        return self.district is not None


# One round trip. Each LATERAL asks the next level only when the one below found nothing; the
# "IS NULL" guards are evaluated once per row, so the spatial scans they protect are skipped.
_GEOCODE_SQL = f"""
WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {WGS84}),
                               {STORAGE_SRID}) AS pt)
SELECT g.code, g.name, c.code, c.name, s.code, s.name, d.code, d.name,
       (SELECT json_agg(json_build_array(z.code, z.name, z.kind, z.holder)
                        ORDER BY z.kind, z.code)
          FROM gridmap_responsibilityzone z WHERE ST_Covers(z.geom, p.pt))
  FROM p
  LEFT JOIN LATERAL (
        SELECT code, name, community_id FROM gridmap_unitgrid
         WHERE ST_Covers(geom, p.pt) ORDER BY code LIMIT 1) g ON true
  LEFT JOIN LATERAL (
        SELECT code, name, subdistrict_id FROM gridmap_community
         WHERE id = g.community_id
        UNION ALL
        (SELECT code, name, subdistrict_id FROM gridmap_community
          WHERE g.community_id IS NULL AND ST_Covers(geom, p.pt) ORDER BY code LIMIT 1)
        LIMIT 1) c ON true
  LEFT JOIN LATERAL (
        SELECT code, name, district_id FROM gridmap_subdistrict
         WHERE id = c.subdistrict_id
        UNION ALL
        (SELECT code, name, district_id FROM gridmap_subdistrict
          WHERE c.subdistrict_id IS NULL AND ST_Covers(geom, p.pt) ORDER BY code LIMIT 1)
        LIMIT 1) s ON true
  LEFT JOIN LATERAL (
        SELECT code, name FROM gridmap_district WHERE id = s.district_id
        UNION ALL
        (SELECT code, name FROM gridmap_district
          WHERE s.district_id IS NULL AND ST_Covers(geom, p.pt) ORDER BY code LIMIT 1)
        LIMIT 1) d ON true
"""


def _ref(code: str | None, name: str | None) -> AreaRef | None:
    return AreaRef(code=code, name=name or "") if code is not None else None


def geocode_point(*, lon: float, lat: float) -> Address:
    """The subdistrict, community, unit grid and zones covering a WGS-84 point (degrees).

    Returns an ``Address`` whose ``district`` is None when the point lies outside the district.
    Boundaries count as inside; on an edge shared by two areas the one with the lowest code wins.
    """
    if not in_storage_crs_domain(lon, lat):
        # Far outside the storage CRS's area of use a projection may fail or give garbage; the
        # district lies inside that area, so such a point is simply outside.
        return Address(district=None)
    with connection.cursor() as cursor:
        cursor.execute(_GEOCODE_SQL, {"lon": lon, "lat": lat})
        row = cursor.fetchone()
    zones_json = row[8]
    zones = json.loads(zones_json) if isinstance(zones_json, str) else (zones_json or [])
    return Address(
        district=_ref(row[6], row[7]),
        subdistrict=_ref(row[4], row[5]),
        community=_ref(row[2], row[3]),
        grid=_ref(row[0], row[1]),
        zones=[ZoneRef(code=z[0], name=z[1], kind=z[2], holder=z[3] or "") for z in zones],
    )


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
    from .models import UnitGrid

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
    from .models import ResponsibilityZone

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
