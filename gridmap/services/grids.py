"""Unit-grid splitting (单元网格划分): cut a community into grids of about a target area.

The pieces tile the community (each cut is an intersection with a half-plane and with its
mirror, computed on a micrometre grid, so no area is lost or counted twice beyond that grid),
optionally follow the road network (the community is first cut into blocks along the roads, as
the standard asks for grids bounded by roads, walls and rivers), and are numbered west→east,
then north→south.

How a block becomes grids: it is cut in k = round(area / target) parts by recursive bisection
across its longer axis (of its minimum rotated rectangle), each cut placed by bisection search so
that the two sides get areas in the ratio of their shares of k. This gives grids of nearly equal
area that follow the block's orientation. Blocks or pieces smaller than ``min_fraction`` of the
target are merged into the neighbour they share the longest border with.

All geometry here is shapely, in a metric CRS (metres); the database-facing service at the end
converts to and from GEOS.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import polygonize, unary_union

#: Pieces below this area (m²) are numerical dust from polygon overlay and are dropped.
DUST_M2 = 0.01
#: Every overlay runs with snap-rounding to this grid (metres). Floating-point overlay is not
#: robust here: two neighbours cut from different parents can get the same vertex 1 ulp apart,
#: and GEOS then mis-nodes their shared edge (a union that loses a whole grid was seen). On a
#: fixed grid, neighbours share vertices exactly; what remains is sub-micrometre.
PRECISION_M = 1e-6


@dataclass(frozen=True)
class GridPiece:
    """One unit grid produced by the splitter: its 1-based sequence number and geometry."""

    sequence: int
    geom: Polygon | MultiPolygon


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    """The polygons of any geometry (collections included), dust dropped."""
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom] if geom.area > DUST_M2 else []
    parts: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        parts.extend(_polygons(part))
    return parts


def _as_area(geom: BaseGeometry) -> Polygon | MultiPolygon:
    parts = _polygons(geom)
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def split_into_blocks(
    area: Polygon | MultiPolygon, roads: Iterable[LineString]
) -> list[BaseGeometry]:
    """Cut ``area`` along ``roads`` (centre lines) into blocks that tile it."""
    # Whole roads, not roads clipped to the area: a clipped end can stop a hair short of the
    # boundary, and polygonize cannot close a block along a line that does not meet it.
    cutters = [area.boundary, *(road for road in roads if road.intersects(area))]
    faces = list(polygonize(unary_union(cutters)))
    blocks = []
    for face in faces:
        # polygonize also closes holes of the area (a lake inside a community): keep only faces
        # that belong to the area, and clip them to it so the tiling stays exact.
        if area.contains(face.representative_point()):
            piece = shapely.intersection(face, area, grid_size=PRECISION_M)
            if piece.area > DUST_M2:
                blocks.append(_as_area(piece))
    covered = shapely.union_all(blocks, grid_size=PRECISION_M) if blocks else Polygon()
    rest = shapely.difference(area, covered, grid_size=PRECISION_M)
    blocks.extend(_as_area(p) for p in _polygons(rest))
    return blocks


def _long_axis(geom: BaseGeometry) -> tuple[tuple[float, float], float]:
    """Unit vector along the longer side of the minimum rotated rectangle, and the ratio of its
    long side to its short side."""
    rect = geom.minimum_rotated_rectangle
    if not isinstance(rect, Polygon):
        return (1.0, 0.0), 1.0
    (x0, y0), (x1, y1), (x2, y2) = list(rect.exterior.coords)[:3]
    a = (x1 - x0, y1 - y0)
    b = (x2 - x1, y2 - y1)
    (vx, vy), (wx, wy) = (a, b) if math.hypot(*a) >= math.hypot(*b) else (b, a)
    n = math.hypot(vx, vy) or 1.0
    return (vx / n, vy / n), n / (math.hypot(wx, wy) or n)


def _left_share(k: int, elongation: float) -> int:
    """How many of ``k`` grids go to the first side of a cut across the long axis.

    Aim for square grids: a block ``elongation`` times longer than wide holds about
    sqrt(k * elongation) columns of grids, so cut off half of those columns (whole columns, so
    that the rows line up) rather than half of the grids.
    """
    columns = max(1, round(math.sqrt(k * elongation)))
    k_left = round((columns // 2) * k / columns)
    return min(max(k_left, 1), k - 1)


def _half_plane(
    geom: BaseGeometry, axis: tuple[float, float], t: float, *, upper: bool = False
) -> Polygon:
    """A polygon covering the part of ``geom``'s bounding box where position·axis <= t
    (``upper``: >= t). Both sides share the same cut segment, so the two pieces they cut meet
    exactly."""
    ux, uy = axis
    vx, vy = -uy, ux
    minx, miny, maxx, maxy = geom.bounds
    r = math.hypot(maxx - minx, maxy - miny) + 1.0
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    c0 = cx * ux + cy * uy
    far = c0 + r if upper else c0 - r
    # Corners in (axis, perpendicular) coordinates, mapped back to x/y.
    corners = [(far, -r), (t, -r), (t, r), (far, r)]
    pc = cx * vx + cy * vy
    return Polygon([(a * ux + (p + pc) * vx, a * uy + (p + pc) * vy) for a, p in corners])


def _bisect(geom: BaseGeometry, k: int) -> list[BaseGeometry]:
    """Cut ``geom`` into ``k`` parts of nearly equal area by recursive bisection."""
    if k <= 1:
        return [geom]
    axis, elongation = _long_axis(geom)
    k_left = _left_share(k, elongation)
    share = k_left / k
    coords = shapely.get_coordinates(geom.exterior if isinstance(geom, Polygon) else geom)
    proj = coords[:, 0] * axis[0] + coords[:, 1] * axis[1]
    lo, hi = float(proj.min()), float(proj.max())
    total = geom.area
    target = share * total
    left = geom
    for _ in range(50):
        t = (lo + hi) / 2
        left = shapely.intersection(geom, _half_plane(geom, axis, t), grid_size=PRECISION_M)
        if abs(left.area - target) <= total * 1e-6:
            break
        if left.area < target:
            lo = t
        else:
            hi = t
    # The complement is cut by the mirrored half-plane rather than by difference(): difference()
    # can leave zero-width spikes along the cut that later cuts turn into overlaps.
    right = shapely.intersection(
        geom, _half_plane(geom, axis, t, upper=True), grid_size=PRECISION_M
    )
    left, right = _as_area(left), _as_area(right)
    return _bisect(left, k_left) + _bisect(right, k - k_left)


def _merge_small(pieces: list[BaseGeometry], min_area: float) -> list[BaseGeometry]:
    """Merge pieces below ``min_area`` into the neighbour sharing the longest border."""
    pieces = list(pieces)
    while True:
        small = [i for i, p in enumerate(pieces) if p.area < min_area]
        if not small:
            return pieces
        i = min(small, key=lambda j: pieces[j].area)
        piece = pieces[i]
        best, best_len = None, 0.0
        for j, other in enumerate(pieces):
            if j == i or not piece.intersects(other):
                continue
            shared = piece.boundary.intersection(other.boundary).length
            if shared > best_len:
                best, best_len = j, shared
        if best is None:
            # An island with no neighbour stays a grid of its own, however small.
            min_area = min(min_area, piece.area)
            continue
        pieces[best] = _as_area(shapely.union(pieces[best], piece, grid_size=PRECISION_M))
        del pieces[i]


def split_area(
    area: Polygon | MultiPolygon,
    *,
    target_area_m2: float = 10_000.0,
    roads: Sequence[LineString] = (),
    min_fraction: float = 0.3,
) -> list[GridPiece]:
    """Split ``area`` (metric CRS) into unit grids of about ``target_area_m2``.

    Returns the grids numbered west→east within rows, rows north→south (rows are
    ``sqrt(target_area_m2)`` metres high, measured from the area's northern edge). The pieces
    tile ``area``: their areas sum to the area's and they do not overlap (to within the
    micrometre grid of ``PRECISION_M``).
    """
    if target_area_m2 <= 0:
        raise ValueError(f"target_area_m2 must be positive, got {target_area_m2}")
    if area.is_empty or not area.is_valid:
        raise ValueError("the area to split must be a valid, non-empty polygon")
    min_area = min_fraction * target_area_m2
    area = shapely.set_precision(area, PRECISION_M)
    blocks = split_into_blocks(area, roads) if roads else _polygons(area)
    blocks = _merge_small(blocks, min_area)
    pieces: list[BaseGeometry] = []
    for block in blocks:
        k = max(1, round(block.area / target_area_m2))
        pieces.extend(_bisect(block, k))
    pieces = _merge_small(pieces, min_area)
    return number_pieces(pieces, row_height_m=math.sqrt(target_area_m2), top=area.bounds[3])


def number_pieces(
    pieces: Sequence[BaseGeometry], *, row_height_m: float, top: float
) -> list[GridPiece]:
    """Order pieces north→south by rows of ``row_height_m``, west→east within a row."""

    def key(p: BaseGeometry) -> tuple[int, float, float]:
        c = p.centroid
        return (int((top - c.y) // row_height_m), c.x, -c.y)

    ordered = sorted(pieces, key=key)
    return [GridPiece(sequence=i, geom=_as_area(p)) for i, p in enumerate(ordered, start=1)]
