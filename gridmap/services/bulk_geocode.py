"""Bulk geocoding (批量地址匹配): many points at once → subdistrict, community, unit grid, zones.

The single-point geocoder (``gridmap.selectors.geocode_point``) asks PostGIS once per point, which
is right for a case's intake and far too slow for a million rows of a spreadsheet. Here the areas
are read once from PostGIS (WKB) into shapely, and points are assigned with numpy and vectorised
GEOS calls — never a Python loop per point — with the same answer as ``geocode_point``:

- Unit grids drive the answer. A uniform index of square cells (a quarter of a grid's side)
  lists, per cell, the grids whose bounding box reaches it, lowest code first. A point in a cell
  that one grid covers alone takes that grid untested; any other point is tested against its
  cell's few candidates (``intersects_xy`` on prepared polygons: for a point and a polygon that
  is ``ST_Covers``, boundary included) and the first hit wins — the lowest code, so a point on an
  edge shared by two grids gets the grid ``geocode_point`` gives it.
- The community, subdistrict and district follow from the grid by their foreign keys.
- Zones overlap (a point lies in ~8 of them). Per grid, the zones that cover the whole grid are
  found once, in advance, and go to all the grid's points at once; only the zones that cover part
  of a grid, and whose bounding box reaches the point's cell, are tested. A point's zone set is
  then its grid plus a bitmask of the partial zones it lies in; the few thousand distinct sets
  are spelled out once each.
- A point that no grid covers (a gap, or outside) asks the communities, subdistricts, districts
  and zones directly (STRtree), lowest code first, as ``geocode_point`` does.

``points_assign`` takes storage-CRS coordinates (metres); ``lonlat_assign`` takes WGS-84, applies
``geocode_point``'s storage-CRS domain check and projects once with pyproj; ``csv_geocode`` runs
the CSV pipeline behind ``manage.py geocode`` (pyarrow's reader and writer, in blocks).
"""

import csv
import io
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyproj
import shapely
from django.db import connection

from ..crs import UnknownSRS, area_of_use, parse_srs, to_wgs84
from ..models import (
    STORAGE_SRID,
    WGS84,
    Community,
    District,
    ResponsibilityZone,
    Subdistrict,
    UnitGrid,
)

#: Columns appended to every row, in this order.
OUTPUT_COLUMNS = (
    "subdistrict_code",
    "subdistrict_name",
    "community_code",
    "community_name",
    "grid_code",
    "zone_codes",
    "inside",
    "geocode_note",
)
ZONE_SEPARATOR = ";"
OUTSIDE_NOTE = "outside the district"
#: Bytes per block read from the CSV (~130 k rows of a typical file): large enough that per-block
#: costs vanish, small enough that memory stays bounded on files of any length.
BLOCK_BYTES = 8 << 20
#: Cells of the candidate index per grid side (more cells: fewer tests, a larger index), and a
#: cap on their number (a district of very uneven grids gets coarser cells).
CELLS_PER_GRID_SIDE = 4
MAX_CELLS = 4_000_000
#: Points tested with swapped coordinates per block, to spot a file whose lon and lat are swapped.
SWAP_SAMPLE = 1000


class BulkGeocodeError(ValueError):
    """Bad input for the bulk geocoder; the message says what is wrong and what would do."""


@dataclass(frozen=True)
class AreaLevel:
    """One administrative level (districts, subdistricts, communities or unit grids).

    Ordered by code (index = rank), so that "lowest index" is "lowest code". ``parent`` is the
    index of each area's parent in the level above (-1 at the top).
    """

    codes: list[str]
    names: list[str]
    geoms: np.ndarray
    parent: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class _Csr:
    """Lists of ints per row, compressed: row i is ``values[indptr[i]:indptr[i + 1]]``."""

    indptr: np.ndarray
    values: np.ndarray

    @classmethod
    def from_pairs(cls, rows: np.ndarray, values: np.ndarray, n_rows: int) -> "_Csr":
        order = np.lexsort((values, rows))
        counts = np.bincount(rows, minlength=n_rows)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr=indptr, values=values[order].astype(np.int64))

    def row(self, i: int) -> np.ndarray:
        return self.values[self.indptr[i] : self.indptr[i + 1]]


@dataclass(frozen=True)
class _CellIndex:
    """Square cells over the grids' extent, each listing the grids whose bbox reaches it.

    A (cell, grid) pair is a position in ``grids.values``. Per pair, ``zones`` lists the grid's
    partial zones whose bbox reaches the cell, and ``zone_bits`` their places in the grid's list
    of partial zones (the bit of the point's zone mask). ``sure`` marks cells that one grid covers
    alone: their points need no test.
    """

    x0: float
    y0: float
    size: float
    nx: int
    ny: int
    grids: _Csr
    sure: np.ndarray
    zones: _Csr
    zone_bits: np.ndarray


@dataclass(frozen=True)
class Areas:
    """Everything the bulk geocoder needs, read once: areas by level, zones, derived indexes.

    Geometry in the storage CRS (``GRIDMAP_SRID``), prepared for repeated point tests. Zones are
    ordered by kind, then code (index = rank), the order in which they are listed.
    """

    districts: AreaLevel
    subdistricts: AreaLevel
    communities: AreaLevel
    grids: AreaLevel
    zone_codes: list[str]
    zone_geoms: np.ndarray
    zone_bounds: np.ndarray
    #: Per grid: the zones covering all of it, and the zones covering only part of it.
    whole_zones: _Csr
    partial_zones: _Csr
    cells: _CellIndex | None
    #: (minx, miny, maxx, maxy) of every area and zone: points beyond it meet nothing.
    extent: tuple[float, float, float, float]
    trees: dict[str, shapely.STRtree] = field(repr=False)


@dataclass(frozen=True)
class Assignment:
    """The areas covering each point: indexes into ``Areas`` levels, -1 where none.

    ``zone_set`` indexes ``zone_sets``: zone codes joined with ``;``, by kind then code ("" for
    no zone).
    """

    district: np.ndarray
    subdistrict: np.ndarray
    community: np.ndarray
    grid: np.ndarray
    zone_set: np.ndarray
    zone_sets: pa.StringArray

    @property
    def inside(self) -> np.ndarray:
        return self.district >= 0

    def zone_codes(self) -> list[str]:
        """The zone codes of every point (joined with ``;``), as Python strings."""
        return self.zone_sets.take(pa.array(self.zone_set)).to_pylist()


# --- loading ---------------------------------------------------------------------------------


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _level(rows: list[tuple], parents: dict[int, int] | None) -> tuple[AreaLevel, dict[int, int]]:
    """(id, code, name, parent id, WKB) rows → an AreaLevel by code, and id → index."""
    rows = sorted(rows, key=lambda r: r[1])
    geoms = shapely.from_wkb([bytes(r[4]) for r in rows]) if rows else np.empty(0, dtype=object)
    shapely.prepare(geoms)
    parent = np.array(
        [parents.get(r[3], -1) if parents is not None else -1 for r in rows], dtype=np.int64
    )
    level = AreaLevel(
        codes=[r[1] for r in rows], names=[r[2] or "" for r in rows], geoms=geoms, parent=parent
    )
    return level, {r[0]: i for i, r in enumerate(rows)}


def areas_load() -> Areas:
    """Read districts, subdistricts, communities, unit grids and zones from PostGIS (WKB, storage
    CRS) and build the bulk geocoder's indexes. About 0.1 s for the demo district."""

    def select(model, parent_column: str | None) -> list[tuple]:
        parent = parent_column or "NULL"
        return _rows(
            f"SELECT id, code, name, {parent}, ST_AsBinary(geom) FROM {model._meta.db_table}"
        )

    districts, district_ids = _level(select(District, None), None)
    subdistricts, subdistrict_ids = _level(select(Subdistrict, "district_id"), district_ids)
    communities, community_ids = _level(select(Community, "subdistrict_id"), subdistrict_ids)
    grids, _ = _level(select(UnitGrid, "community_id"), community_ids)
    zone_rows = sorted(
        _rows(
            "SELECT code, kind, ST_AsBinary(geom) FROM "
            f"{ResponsibilityZone._meta.db_table} WHERE geom IS NOT NULL"
        ),
        key=lambda r: (r[1], r[0]),
    )
    zone_geoms = (
        shapely.from_wkb([bytes(r[2]) for r in zone_rows])
        if zone_rows
        else np.empty(0, dtype=object)
    )
    return areas_build(
        districts=districts,
        subdistricts=subdistricts,
        communities=communities,
        grids=grids,
        zone_codes=[r[0] for r in zone_rows],
        zone_geoms=zone_geoms,
    )


def areas_build(
    *,
    districts: AreaLevel,
    subdistricts: AreaLevel,
    communities: AreaLevel,
    grids: AreaLevel,
    zone_codes: list[str],
    zone_geoms: np.ndarray,
) -> Areas:
    """The derived indexes: whole and partial zones per grid, the grid cell index, STRtrees."""
    shapely.prepare(zone_geoms)
    zone_tree = shapely.STRtree(zone_geoms)
    n_grids = len(grids)
    if n_grids and len(zone_geoms):
        grid_i, zone_i = zone_tree.query(grids.geoms, predicate="intersects")
        whole = shapely.covers(zone_geoms[zone_i], grids.geoms[grid_i])
    else:
        grid_i = zone_i = np.empty(0, dtype=np.int64)
        whole = np.empty(0, dtype=bool)
    everything = np.concatenate(
        [districts.geoms, subdistricts.geoms, communities.geoms, grids.geoms, zone_geoms]
    )
    if len(everything):
        bounds = shapely.bounds(everything)
        extent = (
            float(np.min(bounds[:, 0])),
            float(np.min(bounds[:, 1])),
            float(np.max(bounds[:, 2])),
            float(np.max(bounds[:, 3])),
        )
    else:
        extent = (np.inf, np.inf, -np.inf, -np.inf)
    partial = _Csr.from_pairs(grid_i[~whole], zone_i[~whole], n_grids)
    zone_bounds = shapely.bounds(zone_geoms).reshape(-1, 4)
    return Areas(
        districts=districts,
        subdistricts=subdistricts,
        communities=communities,
        grids=grids,
        zone_codes=list(zone_codes),
        zone_geoms=zone_geoms,
        zone_bounds=zone_bounds,
        whole_zones=_Csr.from_pairs(grid_i[whole], zone_i[whole], n_grids),
        partial_zones=partial,
        cells=_cell_index(grids.geoms, partial, zone_bounds),
        extent=extent,
        trees={
            "districts": shapely.STRtree(districts.geoms),
            "subdistricts": shapely.STRtree(subdistricts.geoms),
            "communities": shapely.STRtree(communities.geoms),
            "zones": zone_tree,
        },
    )


def _cell_index(geoms: np.ndarray, partial: _Csr, zone_bounds: np.ndarray) -> _CellIndex | None:
    if not len(geoms):
        return None
    bounds = shapely.bounds(geoms)
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    width, height = bounds[:, 2].max() - x0, bounds[:, 3].max() - y0
    side = float(np.median(np.sqrt(shapely.area(geoms))))
    size = max(side / CELLS_PER_GRID_SIDE, np.sqrt(width * height / MAX_CELLS), 1e-6)
    nx, ny = int(width // size) + 1, int(height // size) + 1
    # The cells each grid's bbox spans. The point → cell function is the same floor, and floor
    # is monotonic, so a cell lists every grid whose bbox holds any point of that cell.
    ix0, ix1 = _cell_x(bounds[:, 0], x0, size, nx), _cell_x(bounds[:, 2], x0, size, nx)
    iy0, iy1 = _cell_x(bounds[:, 1], y0, size, ny), _cell_x(bounds[:, 3], y0, size, ny)
    wide = ix1 - ix0 + 1
    grid, offset = _expand(np.zeros(len(geoms), dtype=np.int64), wide * (iy1 - iy0 + 1))
    cell = (iy0[grid] + offset // wide[grid]) * nx + ix0[grid] + offset % wide[grid]
    grids = _Csr.from_pairs(cell, grid, nx * ny)

    # Each pair's cell, as a box grown by a millimetre: a point's cell comes from a floating-point
    # division, so the point may lie a hair outside the box computed here.
    pair_cell = np.repeat(np.arange(nx * ny), np.diff(grids.indptr))
    pair_grid = grids.values
    grow = 1e-3
    cx0 = x0 + (pair_cell % nx) * size - grow
    cy0 = y0 + (pair_cell // nx) * size - grow
    cx1, cy1 = cx0 + size + 2 * grow, cy0 + size + 2 * grow

    alone = np.diff(grids.indptr) == 1
    sure = np.zeros(nx * ny, dtype=bool)
    single = np.flatnonzero(alone[pair_cell])
    sure[pair_cell[single]] = shapely.covers(
        geoms[pair_grid[single]], shapely.box(cx0[single], cy0[single], cx1[single], cy1[single])
    )

    starts = partial.indptr[pair_grid]
    pair, position = _expand(starts, partial.indptr[pair_grid + 1] - starts)
    zone = partial.values[position]
    b = zone_bounds[zone]
    reaches = (b[:, 0] <= cx1[pair]) & (b[:, 2] >= cx0[pair])
    reaches &= (b[:, 1] <= cy1[pair]) & (b[:, 3] >= cy0[pair])
    pair, zone, bit = pair[reaches], zone[reaches], (position - starts[pair])[reaches]
    indptr = np.zeros(len(pair_grid) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair, minlength=len(pair_grid)), out=indptr[1:])
    return _CellIndex(
        x0=float(x0),
        y0=float(y0),
        size=float(size),
        nx=nx,
        ny=ny,
        grids=grids,
        sure=sure,
        zones=_Csr(indptr=indptr, values=zone),
        zone_bits=bit,
    )


def _cell_x(values: np.ndarray, origin: float, size: float, n: int) -> np.ndarray:
    return np.clip(np.floor((values - origin) / size), 0, n - 1).astype(np.int64)


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with ``counts[i]`` items each: (row of every item, starts[row] + its offset)."""
    total = int(counts.sum())
    row = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return row, np.repeat(starts - first, counts) + np.arange(total)


# --- assignment ------------------------------------------------------------------------------


def points_assign(*, x: np.ndarray, y: np.ndarray, areas: Areas) -> Assignment:
    """The areas covering each point (storage CRS, metres); NaN coordinates meet nothing.

    Same rules as ``geocode_point``: grids drive the answer, boundaries count as inside
    (``ST_Covers``), on an edge shared by two areas the lowest code wins, and a point no grid
    covers asks the communities, subdistricts and districts directly.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    minx, miny, maxx, maxy = areas.extent
    near = np.flatnonzero((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
    grid = np.full(n, -1, dtype=np.int64)
    pair = np.full(n, -1, dtype=np.int64)
    if areas.cells is not None and len(near):
        grid[near], pair[near] = _lowest_grid(areas, x[near], y[near])

    community = np.full(n, -1, dtype=np.int64)
    subdistrict = np.full(n, -1, dtype=np.int64)
    district = np.full(n, -1, dtype=np.int64)
    zone_set = np.zeros(n, dtype=np.int64)

    in_grid = np.flatnonzero(grid >= 0)
    community[in_grid] = areas.grids.parent[grid[in_grid]]
    combos, combo_of = _zones_through_grids(
        areas, grid[in_grid], pair[in_grid], x[in_grid], y[in_grid]
    )
    zone_set[in_grid] = combo_of
    zone_sets = [pa.array([""]), combos]

    gap = near[grid[near] < 0]
    if len(gap):
        points = shapely.points(x[gap], y[gap])
        community[gap] = _lowest(areas.trees["communities"], points)
        subdistrict[gap] = _lowest(areas.trees["subdistricts"], points)
        district[gap] = _lowest(areas.trees["districts"], points)
        sets, set_of = _zones_directly(areas, points)
        zone_set[gap] = np.where(set_of >= 0, set_of + 1 + len(combos), 0)
        zone_sets.append(sets)

    # Up the tree: a community's subdistrict and a subdistrict's district win over what the
    # point hit directly (they agree unless areas overlap their parents' neighbours).
    has = community >= 0
    subdistrict[has] = areas.communities.parent[community[has]]
    has = subdistrict >= 0
    district[has] = areas.subdistricts.parent[subdistrict[has]]
    return Assignment(
        district=district,
        subdistrict=subdistrict,
        community=community,
        grid=grid,
        zone_set=zone_set,
        zone_sets=pa.concat_arrays([a.cast(pa.string()) for a in zone_sets]),
    )


def _lowest_grid(areas: Areas, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest-ranked grid covering each point, or -1, and the point's (cell, grid) pair."""
    cells = areas.cells
    grid = np.full(len(x), -1, dtype=np.int64)
    pair = np.full(len(x), -1, dtype=np.int64)
    inside = (
        (x >= cells.x0)
        & (x <= cells.x0 + cells.nx * cells.size)
        & (y >= cells.y0)
        & (y <= cells.y0 + cells.ny * cells.size)
    )
    idx = np.flatnonzero(inside)
    cell = _cell_x(y[idx], cells.y0, cells.size, cells.ny) * cells.nx
    cell += _cell_x(x[idx], cells.x0, cells.size, cells.nx)
    starts = cells.grids.indptr[cell]
    sure = cells.sure[cell]
    pair[idx[sure]] = starts[sure]
    grid[idx[sure]] = cells.grids.values[starts[sure]]
    idx, cell, starts = idx[~sure], cell[~sure], starts[~sure]
    point, position = _expand(starts, cells.grids.indptr[cell + 1] - starts)
    point = idx[point]
    candidate = cells.grids.values[position]
    hit = shapely.intersects_xy(areas.grids.geoms[candidate], x[point], y[point])
    # Candidates come per point, lowest rank first: a point's first hit is its lowest code.
    point, position = point[hit], position[hit]
    first = np.ones(len(point), dtype=bool)
    first[1:] = point[1:] != point[:-1]
    pair[point[first]] = position[first]
    grid[point[first]] = cells.grids.values[position[first]]
    return grid, pair


def _zones_through_grids(
    areas: Areas, grid: np.ndarray, pair: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[pa.StringArray, np.ndarray]:
    """Zone sets of points in grids: (distinct sets spelled out, index of each point's set).

    Each point gets its grid's whole zones plus the partial ones it lies in (only those whose
    bbox reaches its cell are tested); a set is identified by (grid, bitmask over the grid's
    partial zones).
    """
    if not len(grid):
        return pa.array([], type=pa.string()), np.zeros(0, dtype=np.int64)
    cells, partial = areas.cells, areas.partial_zones
    most = int(np.diff(partial.indptr).max(initial=0))
    words = max(1, -(-most // 64))
    starts = cells.zones.indptr[pair]
    point, position = _expand(starts, cells.zones.indptr[pair + 1] - starts)
    zone = cells.zones.values[position]
    hit = shapely.intersects_xy(areas.zone_geoms[zone], x[point], y[point])
    bit = cells.zone_bits[position[hit]]
    masks = np.zeros((len(grid), words), dtype=np.uint64)
    np.bitwise_or.at(
        masks, (point[hit], bit // 64), np.left_shift(np.uint64(1), (bit % 64).astype(np.uint64))
    )
    if words == 1 and most + len(areas.grids).bit_length() <= 63:
        # The common case: (grid, mask) packed in one integer, and np.unique sorts integers.
        shift = np.uint64(most)
        keys = (grid.astype(np.uint64) << shift) | masks[:, 0]
        unique, inverse = np.unique(keys, return_inverse=True)
        combo_grid = (unique >> shift).astype(np.int64)
        combo_masks = (unique & ((np.uint64(1) << shift) - np.uint64(1))).reshape(-1, 1)
    else:
        rows = np.ascontiguousarray(np.column_stack([grid.astype(np.uint64), masks]))
        void = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        unique, inverse = np.unique(void, return_inverse=True)
        table = unique.view(np.uint64).reshape(-1, words + 1)
        combo_grid, combo_masks = table[:, 0].astype(np.int64), table[:, 1:]
    codes = areas.zone_codes
    spelled = []
    for g, mask in zip(combo_grid.tolist(), combo_masks.tolist(), strict=True):
        ranks = areas.whole_zones.row(g).tolist()
        own = partial.row(g)
        for w, word in enumerate(mask):
            while word:
                low = word & -word
                ranks.append(int(own[w * 64 + low.bit_length() - 1]))
                word ^= low
        ranks.sort()
        spelled.append(ZONE_SEPARATOR.join(codes[r] for r in ranks))
    # Offsets past the leading "" of the caller's list.
    return pa.array(spelled, type=pa.string()), inverse.reshape(-1).astype(np.int64) + 1


def _zones_directly(areas: Areas, points: np.ndarray) -> tuple[pa.StringArray, np.ndarray]:
    """Zone sets of points no grid covers, from the zone STRtree: (distinct sets, index or -1)."""
    point, zone = areas.trees["zones"].query(points, predicate="intersects")
    if not len(point):
        return pa.array([], type=pa.string()), np.full(len(points), -1, dtype=np.int64)
    order = np.lexsort((zone, point))
    point, zone = point[order], zone[order]
    offsets = np.zeros(len(points) + 1, dtype=np.int32)
    np.cumsum(np.bincount(point, minlength=len(points)), out=offsets[1:])
    values = pa.array(areas.zone_codes, type=pa.string()).take(pa.array(zone))
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), values), ZONE_SEPARATOR)
    encoded = joined.dictionary_encode()
    set_of = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    set_of[np.diff(offsets) == 0] = -1
    return encoded.dictionary, set_of


def _lowest(tree: shapely.STRtree, points: np.ndarray) -> np.ndarray:
    """Per point, the lowest index of the tree's geometries covering it, or -1."""
    out = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    point, area = tree.query(points, predicate="intersects")
    np.minimum.at(out, point, area)
    out[out == np.iinfo(np.int64).max] = -1
    return out


def _storage_domain(srid: int) -> tuple[float, float, float, float]:
    """WGS-84 box where the storage CRS may be used: its area of use plus 1°, as
    ``gridmap.crs.in_storage_crs_domain`` draws it for ``geocode_point``."""
    west, south, east, north = area_of_use(srid)
    return west - 1.0, south - 1.0, east + 1.0, north + 1.0


@lru_cache(maxsize=2)
def _to_storage(srid: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(WGS84, srid, always_xy=True)


def lonlat_assign(*, lon: np.ndarray, lat: np.ndarray, areas: Areas) -> Assignment:
    """The areas covering each WGS-84 point (degrees); NaN or far-away points meet nothing.

    Points outside the storage CRS's area of use (plus 1°) are outside, as in ``geocode_point``;
    the others are projected once (pyproj, vectorised) and go to ``points_assign``.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    west, south, east, north = _storage_domain(STORAGE_SRID)
    usable = np.flatnonzero((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north))
    x = np.full(len(lon), np.nan)
    y = np.full(len(lon), np.nan)
    if len(usable):
        x[usable], y[usable] = _to_storage(STORAGE_SRID).transform(lon[usable], lat[usable])
    return points_assign(x=x, y=y, areas=areas)


# --- the CSV pipeline ------------------------------------------------------------------------

_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


@dataclass
class CsvGeocodeSummary:
    """What ``csv_geocode`` did. ``invalid_reasons``: note → rows; ``swap_hint``: a message when
    most rows are not inside but would be with lon and lat swapped."""

    rows: int = 0
    inside: int = 0
    outside: int = 0
    invalid: int = 0
    invalid_reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    swap_hint: str | None = None


def _numbers(column: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text → (float values with NaN where not a number, is-empty mask, not-a-number mask)."""
    text = pc.utf8_trim_whitespace(column)
    empty = pc.equal(pc.utf8_length(text), 0)
    number = pc.match_substring_regex(text, _NUMBER)
    values = pc.cast(pc.if_else(number, text, pa.scalar(None, pa.string())), pa.float64())
    values = values.to_numpy(zero_copy_only=False).astype(float)
    is_empty = empty.to_numpy(zero_copy_only=False)
    return values, is_empty, ~number.to_numpy(zero_copy_only=False) & ~is_empty


def _header(path: Path, encoding: str) -> list[str]:
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    python_encoding = "utf-8-sig" if utf8 else encoding
    try:
        with open(path, newline="", encoding=python_encoding) as f:
            names = next(csv.reader(f), None)
    except UnicodeDecodeError:
        raise BulkGeocodeError(
            f"{path} is not {encoding} text: give its encoding (e.g. --encoding gbk)"
        ) from None
    except LookupError:
        raise BulkGeocodeError(f"unknown encoding {encoding!r}") from None
    if not names:
        raise BulkGeocodeError(f"{path} is empty: a CSV file with a header line was expected")
    return names


class _Progress(io.RawIOBase):
    """A file that reports every read (bytes) to a callback: the progress bar's source."""

    def __init__(self, raw, progress: Callable[[int], object]):
        self._raw, self._progress = raw, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._progress(n)
        return n


def _check_request(
    *, in_path: Path, out_path: Path, lon_column: str, lat_column: str, srs, encoding: str
) -> tuple[str | int, list[str]]:
    """The parsed ``srs`` and the input's column names, or ``BulkGeocodeError``."""
    try:
        srs = parse_srs(srs)
    except UnknownSRS as exc:
        raise BulkGeocodeError(str(exc)) from None
    if not in_path.is_file():
        raise BulkGeocodeError(f"{in_path}: no such file")
    if out_path.resolve() == in_path.resolve() or (
        out_path.exists() and os.path.samefile(out_path, in_path)
    ):
        raise BulkGeocodeError(f"the output {out_path} is the input file: give another --out")
    if not out_path.parent.is_dir():
        raise BulkGeocodeError(f"{out_path.parent}: no such directory for the output")
    names = _header(in_path, encoding)
    for given, option in ((lon_column, "--lon"), (lat_column, "--lat")):
        if given not in names:
            raise BulkGeocodeError(
                f"{in_path} has no column {given!r} ({option}); its columns are: "
                + ", ".join(repr(n) for n in names)
            )
    clashing = [n for n in OUTPUT_COLUMNS if n in names]
    if clashing:
        raise BulkGeocodeError(
            f"{in_path} already has the output column(s) {', '.join(clashing)}: rename them (or "
            "geocode the original file)"
        )
    return srs, names


class _Blocks:
    """Geocodes the CSV block by block: coordinates as text in, ``OUTPUT_COLUMNS`` out, while
    counting rows for the summary and sampling rows that are not inside with lon/lat swapped."""

    def __init__(self, *, areas: Areas, srs: str | int, lon_column: str, lat_column: str):
        self.areas, self.srs = areas, srs
        self.geographic = srs in ("gcj02", "bd09") or pyproj.CRS.from_epsg(srs).is_geographic
        self.subdistricts = (pa.array(areas.subdistricts.codes), pa.array(areas.subdistricts.names))
        self.communities = (pa.array(areas.communities.codes), pa.array(areas.communities.names))
        self.grids = pa.array(areas.grids.codes, type=pa.string())
        #: geocode_note by code: 1–5 invalid rows, 6 outside.
        self.notes = [
            None,
            f"{lon_column} is empty",
            f"{lon_column} is not a number",
            f"{lat_column} is empty",
            f"{lat_column} is not a number",
            "coordinates out of range",
            OUTSIDE_NOTE,
        ]
        self.note_text = pa.array(self.notes, type=pa.string())
        self.inside_text = pa.array([None, "false", "true"], type=pa.string())
        self.summary = CsvGeocodeSummary()
        self.numeric_rows = self.numeric_not_inside = self.swap_sample = self.swap_inside = 0

    def columns(self, lon_text: pa.Array, lat_text: pa.Array) -> list[pa.Array]:
        lon, lon_empty, lon_nan = _numbers(lon_text)
        lat, lat_empty, lat_nan = _numbers(lat_text)
        numeric = ~(lon_empty | lon_nan | lat_empty | lat_nan)
        usable = numeric & np.isfinite(lon) & np.isfinite(lat)
        if self.geographic:
            usable &= (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        wgs_lon, wgs_lat = _wgs84(lon, lat, usable, self.srs)
        found = lonlat_assign(lon=wgs_lon, lat=wgs_lat, areas=self.areas)
        inside = found.inside
        note = np.select(
            [lon_empty, lon_nan, lat_empty, lat_nan, ~usable, ~inside], [1, 2, 3, 4, 5, 6], 0
        )

        summary = self.summary
        summary.rows += len(lon)
        summary.inside += int(inside.sum())
        summary.outside += int((usable & ~inside).sum())
        per_note = np.bincount(note, minlength=len(self.notes))
        for code in range(1, 6):
            if per_note[code]:
                summary.invalid_reasons[self.notes[code]] += int(per_note[code])
        candidates = np.flatnonzero(numeric & ~inside)
        self.numeric_rows += int(numeric.sum())
        self.numeric_not_inside += len(candidates)
        sample = candidates[:SWAP_SAMPLE]
        if len(sample):
            every = np.ones(len(sample), dtype=bool)
            wgs_lon, wgs_lat = _wgs84(lat[sample], lon[sample], every, self.srs)
            swapped = lonlat_assign(lon=wgs_lon, lat=wgs_lat, areas=self.areas)
            self.swap_sample += len(sample)
            self.swap_inside += int(swapped.inside.sum())

        return [
            _take(self.subdistricts[0], found.subdistrict),
            _take(self.subdistricts[1], found.subdistrict),
            _take(self.communities[0], found.community),
            _take(self.communities[1], found.community),
            _take(self.grids, found.grid),
            found.zone_sets.take(pa.array(found.zone_set)),
            self.inside_text.take(pa.array(np.where(usable, 1 + inside, 0))),
            self.note_text.take(pa.array(note)),
        ]

    def swap_hint(self, lon_column: str, lat_column: str) -> str | None:
        if self.numeric_not_inside * 2 > self.numeric_rows and self.swap_inside * 2 > (
            self.swap_sample
        ):
            return (
                f"most rows ({self.numeric_not_inside:,} of {self.numeric_rows:,} with numbers) "
                f"are not inside the district, but {self.swap_inside:,} of a sample of "
                f"{self.swap_sample:,} would be with lon and lat swapped: are --lon {lon_column} "
                f"and --lat {lat_column} the right way round?"
            )
        return None


def csv_geocode(
    *,
    in_path: Path,
    out_path: Path,
    lon_column: str,
    lat_column: str,
    srs: str | int | None = None,
    encoding: str = "utf-8",
    areas: Areas | None = None,
    progress: Callable[[int], object] | None = None,
) -> CsvGeocodeSummary:
    """Geocode every row of a CSV file; write it, every column kept, plus ``OUTPUT_COLUMNS``.

    ``lon_column`` / ``lat_column`` hold x / y in ``srs`` (an EPSG code, ``gcj02`` or ``bd09``,
    see ``gridmap.crs.parse_srs``; default WGS-84). Every column is read and written as text, rows
    in their order; rows outside the district are kept (``inside`` false) and so are rows whose
    coordinates are empty or not numbers (``inside`` empty, the reason in ``geocode_note``). The
    output (UTF-8) is written to a temporary file beside ``out_path`` and renamed at the end, so a
    failed run leaves no half-written file. ``progress`` receives the bytes read as they are read.
    Raises ``BulkGeocodeError`` with a message for the user on bad input.
    """
    started = time.perf_counter()
    in_path, out_path = Path(in_path), Path(out_path)
    srs, names = _check_request(
        in_path=in_path,
        out_path=out_path,
        lon_column=lon_column,
        lat_column=lat_column,
        srs=srs,
        encoding=encoding,
    )
    blocks = _Blocks(
        areas=areas if areas is not None else areas_load(),
        srs=srs,
        lon_column=lon_column,
        lat_column=lat_column,
    )
    lon_i, lat_i = names.index(lon_column), names.index(lat_column)
    fd, partial_name = tempfile.mkstemp(
        dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".partial"
    )
    os.close(fd)
    try:
        with open(in_path, "rb", buffering=0) as raw:
            source = _Progress(raw, progress) if progress else raw
            reader = pacsv.open_csv(
                io.BufferedReader(source, buffer_size=1 << 20),
                read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, encoding=encoding),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    # Every column as text, empty fields as "" (not null): written as read.
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            schema = reader.schema
            for name in OUTPUT_COLUMNS:
                schema = schema.append(pa.field(name, pa.string()))
            with pacsv.CSVWriter(partial_name, schema) as writer:
                for batch in reader:
                    added = blocks.columns(batch.column(lon_i), batch.column(lat_i))
                    writer.write_batch(
                        pa.RecordBatch.from_arrays([*batch.columns, *added], schema=schema)
                    )
        os.replace(partial_name, out_path)
    except pa.ArrowInvalid as exc:
        hint = " (give its encoding, e.g. --encoding gbk)" if "UTF8" in str(exc) else ""
        raise BulkGeocodeError(f"{in_path} could not be read as CSV{hint}: {exc}") from None
    finally:
        if os.path.exists(partial_name):
            os.unlink(partial_name)

    summary = blocks.summary
    summary.invalid = sum(summary.invalid_reasons.values())
    summary.swap_hint = blocks.swap_hint(lon_column, lat_column)
    summary.seconds = time.perf_counter() - started
    return summary


def _wgs84(
    lon: np.ndarray, lat: np.ndarray, usable: np.ndarray, srs: str | int
) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 of the usable rows of coordinates in ``srs``; NaN elsewhere."""
    out_lon = np.full(len(lon), np.nan)
    out_lat = np.full(len(lon), np.nan)
    if usable.any():
        converted = to_wgs84(lon[usable], lat[usable], srs)
        out_lon[usable], out_lat[usable] = converted
    return out_lon, out_lat


def _take(values: pa.Array, index: np.ndarray) -> pa.Array:
    """``values[index]``, null (an empty field) where index is -1."""
    return values.take(pa.array(index, mask=index < 0))
