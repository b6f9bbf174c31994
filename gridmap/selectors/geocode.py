"""The geocoder: which district, subdistrict, community, unit grid and zones cover a point.

This is the MapIt question — "which areas cover this point?" — and it sits on every case's
intake path, so it is written for speed:

- One prepared statement finds the unit grid covering the point and the ids of the zones covering
  it. The grid drives the answer: grids tile communities, which tile subdistricts, which tile the
  district, so the grid's community (and through it everything above) follows by foreign key.
  Only when no grid covers the point (a gap, or outside) does a second query ask the communities,
  subdistricts and districts directly.
- Names and codes of the few dozen areas and the zones come from an in-process directory instead
  of joins: joining them cost as much again as the spatial lookup itself. The directory reloads
  when an id is missing (a new area shows up at once), when this process saves or deletes an area
  (signals), and otherwise after ``GRIDMAP_GEOCODER_DIRECTORY_TTL_S`` seconds — so a rename made
  in another process shows up within that time.
- ``ST_Covers`` (not ``ST_Contains``): a point on a shared edge still finds an area; ties go to the
  lowest code, so the answer is deterministic.
"""

import threading
import time
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save

from ..crs import in_storage_crs_domain
from ..models import STORAGE_SRID, WGS84, Community, District, ResponsibilityZone, Subdistrict


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


_POINT = f"ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {WGS84}), {STORAGE_SRID})"

# No CTE for the point: as a CTE it costs as much again as the grid lookup itself.
_GRID_AND_ZONES_SQL = f"""
SELECT g.code, g.name, g.community_id,
       (SELECT array_agg(z.id) FROM gridmap_responsibilityzone z WHERE ST_Covers(z.geom, {_POINT}))
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (SELECT code, name, community_id FROM gridmap_unitgrid
                      WHERE ST_Covers(geom, {_POINT}) ORDER BY code LIMIT 1) g ON true
"""

# Only for points no grid covers. Each level is asked directly, lowest code first.
_AREAS_SQL = f"""
WITH p AS (SELECT {_POINT} AS pt)
SELECT (SELECT id FROM gridmap_community WHERE ST_Covers(geom, p.pt) ORDER BY code LIMIT 1),
       (SELECT id FROM gridmap_subdistrict WHERE ST_Covers(geom, p.pt) ORDER BY code LIMIT 1),
       (SELECT id FROM gridmap_district WHERE ST_Covers(geom, p.pt) ORDER BY code LIMIT 1)
  FROM p
"""


class _Directory:
    """Codes and names of districts, subdistricts, communities and zones, by id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, dict[int, tuple]] = {}
        self._loaded_at = float("-inf")

    def invalidate(self, **kwargs) -> None:
        self._loaded_at = float("-inf")

    def _load(self) -> None:
        tables = {
            "district": {r[0]: r[1:] for r in District.objects.values_list("id", "code", "name")},
            "subdistrict": {
                r[0]: r[1:]
                for r in Subdistrict.objects.values_list("id", "code", "name", "district_id")
            },
            "community": {
                r[0]: r[1:]
                for r in Community.objects.values_list("id", "code", "name", "subdistrict_id")
            },
            "zone": {
                r[0]: ZoneRef(code=r[1], name=r[2], kind=r[3], holder=r[4])
                for r in ResponsibilityZone.objects.values_list(
                    "id", "code", "name", "kind", "holder"
                )
            },
        }
        self._tables, self._loaded_at = tables, time.monotonic()

    def tables(self, wanted: dict[str, list[int]]) -> dict[str, dict[int, tuple]]:
        """The directory, reloaded first if it is stale or lacks one of the ``wanted`` ids."""
        tables = self._tables
        stale = time.monotonic() - self._loaded_at > settings.GRIDMAP_GEOCODER_DIRECTORY_TTL_S
        missing = any(i not in tables.get(kind, {}) for kind, ids in wanted.items() for i in ids)
        if stale or missing:
            with self._lock:
                self._load()
            tables = self._tables
        return tables


_directory = _Directory()
for _model in (District, Subdistrict, Community, ResponsibilityZone):
    post_save.connect(_directory.invalidate, sender=_model, dispatch_uid=f"geocode-{_model}")
    post_delete.connect(_directory.invalidate, sender=_model, dispatch_uid=f"geocode-d-{_model}")


def _area(table: dict[int, tuple], key: int | None) -> AreaRef | None:
    if key is None or key not in table:
        return None
    code, name = table[key][:2]
    return AreaRef(code=code, name=name or "")


def geocode_point(*, lon: float, lat: float) -> Address:
    """The subdistrict, community, unit grid and zones covering a WGS-84 point (degrees).

    Returns an ``Address`` whose ``district`` is None when the point lies outside the district.
    Boundaries count as inside; on an edge shared by two areas the one with the lowest code wins.
    Zones are listed by kind, then code.
    """
    if not in_storage_crs_domain(lon, lat):
        # Far outside the storage CRS's area of use a projection may fail or give garbage; the
        # district lies inside that area, so such a point is simply outside.
        return Address(district=None)
    params = {"lon": lon, "lat": lat}
    # Straight on the psycopg connection, with server-side binding and a prepared statement:
    # Django's cursors bind parameters client-side, so PostgreSQL would parse and plan the query
    # on every call (which costs more than running it).
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        grid_code, grid_name, community_id, zone_ids = cursor.execute(
            _GRID_AND_ZONES_SQL, params, prepare=True
        ).fetchone()
        subdistrict_id = district_id = None
        if community_id is None:
            community_id, subdistrict_id, district_id = cursor.execute(
                _AREAS_SQL, params, prepare=True
            ).fetchone()
    zone_ids = zone_ids or []
    tables = _directory.tables(
        {"zone": zone_ids, "community": [community_id] if community_id else []}
    )
    if community_id is not None:
        subdistrict_id = tables["community"].get(community_id, (None, None, subdistrict_id))[2]
    if subdistrict_id is not None and district_id is None:
        district_id = tables["subdistrict"].get(subdistrict_id, (None, None, None))[2]
    zones = sorted(
        (tables["zone"][i] for i in zone_ids if i in tables["zone"]), key=lambda z: (z.kind, z.code)
    )
    return Address(
        district=_area(tables["district"], district_id),
        subdistrict=_area(tables["subdistrict"], subdistrict_id),
        community=_area(tables["community"], community_id),
        grid=AreaRef(code=grid_code, name=grid_name or "") if grid_code else None,
        zones=zones,
    )
