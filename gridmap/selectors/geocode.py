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
    #: Primary key, for callers that store the area (case intake); not part of equality.
    id: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ZoneRef:
    code: str
    name: str
    kind: str
    holder: str
    id: int | None = field(default=None, compare=False)


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


# Projected in SQL, once per branch below: that costs nothing measurable, while pyproj in Python
# rebuilds its transformer in every new thread (~40 ms, and the ASGI server gives every request
# a thread of its own).
_POINT = f"ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {WGS84}), {STORAGE_SRID})"

# One statement, one row per covering grid (kind 0) or zone (kind 1). A UNION of two plain
# index scans: as a LATERAL join, a CTE or a sub-select with an aggregate, PostgreSQL spent as
# much again on the plumbing as on the lookups themselves.
_GRID_AND_ZONES_SQL = f"""
SELECT 0, code, name, community_id, id FROM gridmap_unitgrid WHERE ST_Covers(geom, {_POINT})
UNION ALL
SELECT 1, NULL, NULL, id, NULL FROM gridmap_responsibilityzone WHERE ST_Covers(geom, {_POINT})
"""

# Only for points no grid covers. Each level is asked directly, lowest code first.
_AREAS_SQL = f"""
SELECT (SELECT id FROM gridmap_community WHERE ST_Covers(geom, {_POINT}) ORDER BY code LIMIT 1),
       (SELECT id FROM gridmap_subdistrict WHERE ST_Covers(geom, {_POINT}) ORDER BY code LIMIT 1),
       (SELECT id FROM gridmap_district WHERE ST_Covers(geom, {_POINT}) ORDER BY code LIMIT 1)
"""


class _Directory:
    """Codes and names of districts, subdistricts, communities and zones, by id, prebuilt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.districts: dict[int, AreaRef] = {}
        self.subdistricts: dict[int, tuple[AreaRef, int]] = {}
        self.communities: dict[int, tuple[AreaRef, int]] = {}
        self.zones: dict[int, ZoneRef] = {}
        #: zone id -> position in (kind, code) order, so that sorting is a C-level key lookup
        self.zone_rank: dict[int, int] = {}
        self._loaded_at = float("-inf")

    def invalidate(self, **kwargs) -> None:
        self._loaded_at = float("-inf")

    def _load(self) -> None:
        zones = {
            r[0]: ZoneRef(code=r[1], name=r[2], kind=r[3], holder=r[4], id=r[0])
            for r in ResponsibilityZone.objects.values_list("id", "code", "name", "kind", "holder")
        }
        self.districts = {
            i: AreaRef(code, name, i)
            for i, code, name in District.objects.values_list("id", "code", "name")
        }
        self.subdistricts = {
            i: (AreaRef(code, name, i), parent)
            for i, code, name, parent in Subdistrict.objects.values_list(
                "id", "code", "name", "district_id"
            )
        }
        self.communities = {
            i: (AreaRef(code, name, i), parent)
            for i, code, name, parent in Community.objects.values_list(
                "id", "code", "name", "subdistrict_id"
            )
        }
        ordered = sorted(zones, key=lambda i: (zones[i].kind, zones[i].code))
        self.zones, self.zone_rank = zones, {i: n for n, i in enumerate(ordered)}
        self._loaded_at = time.monotonic()

    def refresh_if_needed(self, *, community_id: int | None, zone_ids: list[int]) -> None:
        """Reload when stale or when an id is unknown (a new area or zone)."""
        stale = time.monotonic() - self._loaded_at > settings.GRIDMAP_GEOCODER_DIRECTORY_TTL_S
        if (
            stale
            or (community_id is not None and community_id not in self.communities)
            or not all(map(self.zones.__contains__, zone_ids))
        ):
            with self._lock:
                self._load()


_directory = _Directory()
for _model in (District, Subdistrict, Community, ResponsibilityZone):
    post_save.connect(_directory.invalidate, sender=_model, dispatch_uid=f"geocode-{_model}")
    post_delete.connect(_directory.invalidate, sender=_model, dispatch_uid=f"geocode-d-{_model}")


def _server_side_cursor() -> psycopg.Cursor:
    """A server-side-binding cursor on this thread's Django connection, kept with it."""
    connection.ensure_connection()
    raw = connection.connection
    cursor = getattr(connection, "_gridmap_cursor", None)
    if cursor is None or cursor.closed or cursor.connection is not raw:
        cursor = connection._gridmap_cursor = psycopg.Cursor(raw)
    return cursor


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
    cursor = _server_side_cursor()
    rows = cursor.execute(_GRID_AND_ZONES_SQL, params, prepare=True).fetchall()
    grids = sorted(
        (code, name, community, grid_id)
        for kind, code, name, community, grid_id in rows
        if not kind
    )
    zone_ids = [zone for kind, _, _, zone, _ in rows if kind]
    grid_code, grid_name, community_id, grid_id = grids[0] if grids else (None, None, None, None)
    subdistrict_id = district_id = None
    if community_id is None:
        community_id, subdistrict_id, district_id = cursor.execute(
            _AREAS_SQL, params, prepare=True
        ).fetchone()
    d = _directory
    d.refresh_if_needed(community_id=community_id, zone_ids=zone_ids)
    community = d.communities.get(community_id)
    if community is not None:
        subdistrict_id = community[1]
    subdistrict = d.subdistricts.get(subdistrict_id)
    if subdistrict is not None:
        district_id = subdistrict[1]
    zone_ids = [i for i in zone_ids if i in d.zones]
    zone_ids.sort(key=d.zone_rank.__getitem__)
    return Address(
        district=d.districts.get(district_id),
        subdistrict=subdistrict[0] if subdistrict else None,
        community=community[0] if community else None,
        grid=AreaRef(code=grid_code, name=grid_name or "", id=grid_id) if grid_code else None,
        zones=[d.zones[i] for i in zone_ids],
    )
