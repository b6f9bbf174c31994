"""Video coverage (视频覆盖率) and blind spots (监控盲区) from the stored camera viewsheds.

For every unit grid (单元网格) and community (社区): the share of its area that at least one
viewshed covers; for every road segment (``gridmap.Road``): the share of its length. A grid's
*blind spot* is its area no viewshed covers.

How: the viewsheds go into an STRtree; each target is intersected with the viewsheds that touch
it (one vectorised ``intersection`` over all pairs), and the pieces of one target are unioned,
so overlapping cameras count once. 1,000 grids under 600 viewsheds take well under the 2 s of
DESIGN §6 (bench/viewshed.py). Areas in m² and lengths in m, in the metric storage CRS.

The result is cached in Redis under a *version*: a digest of the cameras' viewshed times and
of the grids', communities' and roads' codes, names and geometries, so any recomputed viewshed
or edited area gives a new key and readers never see a stale figure; nothing is stored in a table.
Each feature also carries its WGS-84 GeoJSON and bounds, so an API request only filters.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from shapely import STRtree

from gridmap.models import STORAGE_SRID, WGS84

#: How long a computed coverage stays in the cache (seconds); a new version replaces it sooner.
CACHE_TTL_S = 24 * 3600
CACHE_PREFIX = "cameras:coverage:"
#: GeoJSON coordinates (WGS-84) keep this many decimals (~0.1 m).
GEOJSON_DECIMALS = 6


@dataclass
class Target:
    """One grid, community or road segment and how much of it cameras see.

    ``size`` is the area (m², grids and communities) or length (m, roads); ``covered`` the part
    of it inside some viewshed. ``communities`` / ``subdistricts`` say whose scope it is in."""

    id: int
    code: str
    name: str
    size: float
    covered: float
    communities: tuple[int, ...] = ()
    subdistricts: tuple[int, ...] = ()
    community_name: str = ""
    geojson: str = ""
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    #: Grids: their blind spot as GeoJSON (WGS-84) when not wholly covered, and its area (m²).
    blind_geojson: str = ""
    blind_m2: float = 0.0

    @property
    def fraction(self) -> float:
        """Covered share, 0..1 (1 for a degenerate target of size 0)."""
        return min(1.0, self.covered / self.size) if self.size > 0 else 1.0


@dataclass
class Coverage:
    """Coverage of every grid, community and road segment at one version of the data."""

    version: str
    computed_at: object
    seconds: float
    cameras: int
    grids: list[Target] = field(default_factory=list)
    communities: list[Target] = field(default_factory=list)
    roads: list[Target] = field(default_factory=list)

    def level(self, name: str) -> list[Target]:
        return {"grid": self.grids, "community": self.communities, "road": self.roads}[name]


LEVELS = ("grid", "community", "road")

_VERSION_SQL = """
SELECT concat_ws('|',
  (SELECT md5(string_agg(concat_ws(':', id, viewshed_computed_at), ',' ORDER BY id))
     FROM cameras_camera WHERE viewshed_geom IS NOT NULL),
  (SELECT md5(string_agg(concat_ws(':', id, code, name, community_id, md5(ST_AsBinary(geom))),
                         ',' ORDER BY id))
     FROM gridmap_unitgrid),
  (SELECT md5(string_agg(concat_ws(':', id, code, name, subdistrict_id,
                                   md5(ST_AsBinary(geom))), ',' ORDER BY id))
     FROM gridmap_community),
  (SELECT md5(string_agg(concat_ws(':', id, code, name, md5(ST_AsBinary(geom))),
                         ',' ORDER BY id))
     FROM gridmap_road)
)
"""


def coverage_version() -> str:
    """A digest of everything coverage depends on (one cheap aggregate query)."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        text = cursor.fetchone()[0]
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def coverage_current() -> Coverage:
    """The coverage at the data's current version: from the cache, else computed and cached."""
    version = coverage_version()
    key = CACHE_PREFIX + version
    found = cache.get(key)
    if found is not None:
        return found
    result = coverage_compute(version=version)
    cache.set(key, result, CACHE_TTL_S)
    return result


def covered_parts(targets: np.ndarray, sheds: np.ndarray, tree: STRtree) -> np.ndarray:
    """For each target geometry, the union of its intersections with the viewsheds (``tree``
    indexes ``sheds``): what of it some camera sees. Empty geometry where none does."""
    out = np.array([shapely.GeometryCollection()] * len(targets), dtype=object)
    if len(targets) == 0 or len(sheds) == 0:
        return out
    target_i, shed_i = tree.query(targets, predicate="intersects")
    if len(target_i) == 0:
        return out
    order = np.argsort(target_i, kind="stable")
    target_i, shed_i = target_i[order], shed_i[order]
    pieces = shapely.intersection(targets[target_i], sheds[shed_i])
    cuts = np.flatnonzero(np.diff(target_i)) + 1
    for index, group in zip(target_i[np.r_[0, cuts]], np.split(pieces, cuts), strict=True):
        out[index] = group[0] if len(group) == 1 else shapely.union_all(group)
    return out


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _geometries(rows: list[tuple], column: int) -> np.ndarray:
    return shapely.from_wkb([bytes(r[column]) for r in rows]) if rows else np.array([])


_TO_WGS84_SQL = f"""
SELECT ST_AsGeoJSON(g, {GEOJSON_DECIMALS}), ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)
  FROM (SELECT ST_Transform(ST_GeomFromWKB(w, {STORAGE_SRID}), {WGS84}) AS g, n
          FROM unnest(%s::bytea[]) WITH ORDINALITY AS t(w, n)) AS x
 ORDER BY n
"""


def _to_wgs84(geoms) -> list[tuple[str, tuple[float, float, float, float]]]:
    """GeoJSON text and WGS-84 bounds of storage-CRS geometries, transformed by PostGIS."""
    if len(geoms) == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_TO_WGS84_SQL, [[shapely.to_wkb(g) for g in geoms]])
        return [(row[0], tuple(row[1:5])) for row in cursor.fetchall()]


def coverage_compute(*, version: str | None = None, geojson: bool = True) -> Coverage:
    """Coverage of every grid, community and road segment by the stored viewsheds (see the
    module docstring). ``geojson=False`` skips the WGS-84 output (statistics only)."""
    t0 = time.perf_counter()
    shed_rows = _rows(
        "SELECT ST_AsBinary(viewshed_geom) FROM cameras_camera "
        "WHERE viewshed_geom IS NOT NULL AND NOT ST_IsEmpty(viewshed_geom)"
    )
    sheds = _geometries(shed_rows, 0)
    tree = STRtree(sheds)
    communities = _rows(
        "SELECT id, code, name, subdistrict_id, ST_AsBinary(geom) FROM gridmap_community "
        "ORDER BY code"
    )
    community_names = {r[0]: r[2] for r in communities}
    community_sub = {r[0]: r[3] for r in communities}
    grids = _rows(
        "SELECT id, code, name, community_id, ST_AsBinary(geom) FROM gridmap_unitgrid ORDER BY code"
    )
    roads = _rows("SELECT id, code, name, ST_AsBinary(geom) FROM gridmap_road ORDER BY code")

    grid_geoms = _geometries(grids, 4)
    grid_covered = covered_parts(grid_geoms, sheds, tree)
    blind = shapely.difference(grid_geoms, grid_covered) if len(grids) else np.array([])
    community_geoms = _geometries(communities, 4)
    community_covered = covered_parts(community_geoms, sheds, tree)
    road_geoms = _geometries(roads, 3)
    road_covered = covered_parts(road_geoms, sheds, tree)
    road_communities = _road_communities(road_geoms, community_geoms, communities)

    result = Coverage(
        version=version or coverage_version(),
        computed_at=timezone.now(),
        seconds=0.0,
        cameras=len(sheds),
    )
    for (gid, code, name, community_id, _), geom, cov, hole in zip(
        grids, grid_geoms, grid_covered, blind, strict=True
    ):
        result.grids.append(
            Target(
                gid,
                code,
                name,
                geom.area,
                cov.area,
                communities=(community_id,),
                subdistricts=(community_sub.get(community_id),),
                community_name=community_names.get(community_id, ""),
                blind_m2=hole.area,
            )
        )
    for (cid, code, name, sub_id, _), geom, cov in zip(
        communities, community_geoms, community_covered, strict=True
    ):
        result.communities.append(
            Target(cid, code, name, geom.area, cov.area, (cid,), (sub_id,), name)
        )
    for (rid, code, name, _), geom, cov, within in zip(
        roads, road_geoms, road_covered, road_communities, strict=True
    ):
        result.roads.append(
            Target(
                rid,
                code,
                name,
                geom.length,
                cov.length,
                communities=within,
                subdistricts=tuple(sorted({community_sub[c] for c in within})),
                community_name=", ".join(community_names[c] for c in within),
            )
        )
    if geojson:
        _attach_geojson(result, grid_geoms, community_geoms, road_geoms, blind)
    result.seconds = time.perf_counter() - t0
    return result


def _road_communities(road_geoms, community_geoms, communities) -> list[tuple[int, ...]]:
    """For each road, the ids of the communities whose interior it runs through."""
    out: list[list[int]] = [[] for _ in range(len(road_geoms))]
    if len(road_geoms) and len(community_geoms):
        road_i, community_i = STRtree(community_geoms).query(road_geoms, predicate="intersects")
        inside = shapely.relate_pattern(
            road_geoms[road_i], community_geoms[community_i], "T********"
        )
        for r, c in zip(road_i[inside], community_i[inside], strict=True):
            out[r].append(communities[c][0])
    return [tuple(sorted(ids)) for ids in out]


def _attach_geojson(result: Coverage, grid_geoms, community_geoms, road_geoms, blind) -> None:
    """WGS-84 GeoJSON and bounds of every feature and blind spot, in one PostGIS round trip."""
    holes = [i for i, g in enumerate(blind) if not g.is_empty and g.area > 0]
    geoms = [*grid_geoms, *community_geoms, *road_geoms, *(blind[i] for i in holes)]
    out = iter(_to_wgs84(geoms))
    for target in [*result.grids, *result.communities, *result.roads]:
        target.geojson, target.bounds = next(out)
    for i in holes:
        result.grids[i].blind_geojson = next(out)[0]


# --- Reading it for a user ----------------------------------------------------------------------


def in_scope(target: Target, *, community_id: int | None, subdistrict_id: int | None) -> bool:
    """Whether a community- or subdistrict-scoped user may see ``target`` (None: no limit)."""
    if community_id is not None:
        return community_id in target.communities
    if subdistrict_id is not None:
        return subdistrict_id in target.subdistricts
    return True


def overlaps(bounds: tuple[float, float, float, float], bbox) -> bool:
    if bbox is None:
        return True
    minx, miny, maxx, maxy = bounds
    return not (maxx < bbox[0] or minx > bbox[2] or maxy < bbox[1] or miny > bbox[3])


def coverage_targets(
    coverage: Coverage,
    level: str,
    *,
    community_id: int | None = None,
    subdistrict_id: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> list[Target]:
    """The targets of ``level`` in the scope and (WGS-84) ``bbox``."""
    return [
        t
        for t in coverage.level(level)
        if in_scope(t, community_id=community_id, subdistrict_id=subdistrict_id)
        and overlaps(t.bounds, bbox)
    ]
