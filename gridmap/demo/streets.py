"""The river, the road network and the blocks between the roads (local metres).

The network is *noded*: every road is split at every junction, so that each feature is one edge
between two junctions whose end points are shared exactly by the roads that meet there (what
pgRouting's ``pgr_createTopology`` expects). Streets that do not bridge the river stop at the
riverside road or, where there is none, ``BANK_STOP_M`` from the river's centre line; bridges
are split at their abutments so that only the span over the water is flagged ``bridge``.
"""

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import polygonize, unary_union
from shapely.strtree import STRtree

from . import plan

#: Two junctions closer than this (metres) are the same junction.
NODE_TOLERANCE_M = 1e-3


@dataclass
class RoadPiece:
    """A named road as drawn, before noding."""

    name: str
    road_class: str
    line: LineString
    oneway: bool = False
    speed_kmh: float | None = None
    bridge: bool = False


@dataclass
class RoadSegment:
    """One edge of the road network, between two junctions (or a junction and a dead end)."""

    name: str
    road_class: str
    line: LineString
    oneway: bool
    bridge: bool
    speed_kmh: float | None
    code: str = ""


@dataclass
class Block:
    """A face of the road network (and river banks): its zoning and where buildings may stand."""

    index: int
    face: Polygon
    zoning: str
    row: int
    column: int
    buildable: Polygon | shapely.MultiPolygon = field(repr=False, default=None)


def district_outline() -> Polygon:
    return Polygon(plan.OUTLINE)


def river_centre() -> LineString:
    xs = np.arange(-200.0, plan.WIDTH_M + 201.0, 10.0)
    return LineString([(float(x), plan.river_centre_y(float(x))) for x in xs])


def river_polygon(district: Polygon) -> Polygon:
    """The river as a band of ``2 × RIVER_HALF_WIDTH_M`` metres, clipped to the district."""
    band = river_centre().buffer(plan.RIVER_HALF_WIDTH_M, cap_style="flat", quad_segs=4)
    return band.intersection(district)


def _blob(centre: tuple[float, float], radii: tuple[float, float], wobble: float) -> Polygon:
    """A lake-like closed shape: an ellipse with a gentle deterministic wobble."""
    cx, cy = centre
    rx, ry = radii
    points = []
    for i in range(48):
        a = 2 * math.pi * i / 48
        r = 1.0 + wobble * math.sin(3 * a + 0.7) + 0.5 * wobble * math.cos(5 * a)
        points.append((cx + rx * r * math.cos(a), cy + ry * r * math.sin(a)))
    return Polygon(points)


def lake_polygon() -> Polygon:
    _, centre, radii = plan.LAKE
    return _blob(centre, radii, 0.08)


def pond_polygon() -> Polygon:
    _, centre, radii = plan.POND
    return _blob(centre, radii, 0.05)


def _offset(centre: LineString, distance: float, x0: float, x1: float) -> LineString:
    """The river's centre line shifted ``distance`` metres to the north (+) or south (-), cut
    to ``x0 ≤ x ≤ x1``."""
    line = centre.offset_curve(distance, quad_segs=4)
    clipped = line.intersection(box(x0, -1000.0, x1, plan.HEIGHT_M + 1000.0))
    assert isinstance(clipped, LineString), clipped.geom_type
    # offset_curve keeps the direction of the line: west → east.
    return clipped


def road_pieces(district: Polygon) -> list[RoadPiece]:
    """Every street as planned, clipped to the district and cut where it meets the river."""
    centre = river_centre()
    pieces: list[RoadPiece] = []
    # Where streets that do not bridge the river stop, on each side: the riverside road where
    # there is one, otherwise a line BANK_STOP_M from the centre.
    north_stops, south_stops = [], []
    for name, side, x0, x1 in plan.RIVERSIDE_ROADS:
        line = _offset(centre, side * plan.RIVERSIDE_OFFSET_M, x0, x1)
        pieces.append(RoadPiece(name, "branch", line))
        (north_stops if side > 0 else south_stops).append(line)
        other = _offset(centre, -side * plan.BANK_STOP_M, x0, x1)
        (south_stops if side > 0 else north_stops).append(other)
    north_stop = unary_union(north_stops)
    south_stop = unary_union(south_stops)
    for street in plan.STREETS:
        line = shapely.line_merge(LineString(street.points).intersection(district))
        if not isinstance(line, LineString):
            raise AssertionError(f"{street.name} leaves the district: {line.geom_type}")
        (x0, y0), (x1, y1) = street.points[0], street.points[-1]
        (a0, b0), (a1, b1) = line.coords[0], line.coords[-1]
        if (a1 - a0) * (x1 - x0) + (b1 - b0) * (y1 - y0) < 0:
            line = line.reverse()  # keep the drawn direction: it is the one-way direction
        kw = {"oneway": street.oneway, "speed_kmh": street.speed_kmh}
        if street.river == "stop":
            # Drawn north → south: keep the part north of the northern stop and the part south
            # of the southern stop; the cut points are taken from the stop lines themselves so
            # that the street ends exactly on the riverside road.
            north_cut = _single_point(line.intersection(north_stop), street.name)
            south_cut = _single_point(line.intersection(south_stop), street.name)
            start, end = line.coords[0], line.coords[-1]
            pieces.append(
                RoadPiece(street.name, street.road_class, LineString([start, north_cut]), **kw)
            )
            pieces.append(
                RoadPiece(street.name, street.road_class, LineString([south_cut, end]), **kw)
            )
        else:
            pieces.append(
                RoadPiece(
                    street.name, street.road_class, line, bridge=street.river == "bridge", **kw
                )
            )
    return pieces


def _single_point(geom, name: str) -> tuple[float, float]:
    if not isinstance(geom, Point):
        raise AssertionError(f"{name} should meet its river stop line once, got {geom.wkt[:80]}")
    return (geom.x, geom.y)


class _Junctions:
    """Canonical junction coordinates: points closer than the tolerance become one."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.cells: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)

    def canonical(self, x: float, y: float) -> tuple[float, float]:
        cx, cy = math.floor(x / self.tolerance), math.floor(y / self.tolerance)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for p in self.cells.get((cx + dx, cy + dy), ()):
                    if math.hypot(p[0] - x, p[1] - y) <= self.tolerance:
                        return p
        p = (x, y)
        self.cells[(cx, cy)].append(p)
        return p


def _points(geom) -> list[tuple[float, float]]:
    if geom.is_empty:
        return []
    if isinstance(geom, Point):
        return [(geom.x, geom.y)]
    if hasattr(geom, "geoms"):
        out = []
        for g in geom.geoms:
            out.extend(_points(g))
        return out
    raise AssertionError(f"roads overlap along a line: {geom.wkt[:120]}")


def _split(line: LineString, cuts: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Split ``line`` at the given points (which lie on it), using their exact coordinates."""
    coords = list(line.coords)
    length = line.length
    eps = 1e-6
    events = []  # (distance along, is_cut, coordinate)
    along = 0.0
    for a, b in itertools.pairwise(coords):
        along += math.hypot(b[0] - a[0], b[1] - a[1])
        if along < length - eps:
            events.append((along, False, b))
    for c in set(cuts):
        d = line.project(Point(c))
        if eps < d < length - eps:
            events.append((d, True, c))
    events.sort(key=lambda e: (e[0], not e[1]))
    # A vertex that coincides with a cut is replaced by the cut.
    cleaned: list[tuple[float, bool, tuple[float, float]]] = []
    for e in events:
        if cleaned and abs(e[0] - cleaned[-1][0]) < eps:
            if e[1] and not cleaned[-1][1]:
                cleaned[-1] = e
            continue
        cleaned.append(e)
    parts = []
    current = [coords[0]]
    for _, is_cut, c in cleaned:
        current.append(c)
        if is_cut:
            parts.append(current)
            current = [c]
    current.append(coords[-1])
    parts.append(current)
    return parts


def node_network(pieces: list[RoadPiece], river: Polygon) -> list[RoadSegment]:
    """Split the pieces at every junction (and bridges at their abutments) into segments."""
    junctions = _Junctions(NODE_TOLERANCE_M)
    lines = []
    for piece in pieces:
        coords = list(piece.line.coords)
        coords[0] = junctions.canonical(*coords[0])
        coords[-1] = junctions.canonical(*coords[-1])
        lines.append(LineString(coords))
    cuts: list[list[tuple[float, float]]] = [[] for _ in pieces]
    tree = STRtree(lines)
    for i, line in enumerate(lines):
        for j in sorted(int(k) for k in tree.query(line)):
            if j <= i:
                continue
            for x, y in _points(line.intersection(lines[j])):
                c = junctions.canonical(x, y)
                cuts[i].append(c)
                cuts[j].append(c)
    # A street that ends on another (a T junction) may stop a rounding error short of it, and
    # then they do not intersect: snap such ends onto the other line.
    for i, line in enumerate(lines):
        for end in (line.coords[0], line.coords[-1]):
            p = Point(end)
            for j in sorted(int(k) for k in tree.query(p, predicate="dwithin", distance=1e-6)):
                if j != i:
                    cuts[j].append(end)
    abutments = river.buffer(10.0, quad_segs=4)
    segments = []
    for piece, line, piece_cuts in zip(pieces, lines, cuts, strict=True):
        extra = []
        if piece.bridge:
            extra = _points(line.intersection(abutments.boundary))
            if len(extra) != 2:
                raise AssertionError(f"{piece.name}: a bridge needs two abutments, got {extra}")
        for part in _split(line, piece_cuts + extra):
            seg = LineString(part)
            over_water = piece.bridge and abutments.contains(seg.interpolate(0.5, normalized=True))
            segments.append(
                RoadSegment(
                    name=piece.name,
                    road_class=piece.road_class,
                    line=seg,
                    oneway=piece.oneway,
                    bridge=over_water,
                    speed_kmh=piece.speed_kmh,
                )
            )
    _check_network(segments, river)
    for n, seg in enumerate(segments, start=1):
        seg.code = f"R{n:05d}"
    return segments


def _check_network(segments: list[RoadSegment], river: Polygon) -> None:
    """Assert what routing relies on: no crossing without a junction, no road in the river
    except on a bridge, one connected network, every street reachable obeying one-way rules."""
    lines = [s.line for s in segments]
    tree = STRtree(lines)
    for i, line in enumerate(lines):
        ends = {line.coords[0], line.coords[-1]}
        for j in tree.query(line):
            if j == i:
                continue
            for p in _points(line.intersection(lines[j])):
                other = lines[j]
                if p not in ends or p not in {other.coords[0], other.coords[-1]}:
                    raise AssertionError(f"roads cross without a junction at {p}")
        if not segments[i].bridge and line.intersection(river).length > 1e-6:
            raise AssertionError(f"{segments[i].name} runs into the river without a bridge")
    graph: dict = defaultdict(set)
    for s in segments:
        a, b = s.line.coords[0], s.line.coords[-1]
        graph[a].add(b)
        if not s.oneway:
            graph[b].add(a)
    nodes = sorted(graph.keys() | {b for v in graph.values() for b in v})
    reverse: dict = defaultdict(set)
    for a, bs in graph.items():
        for b in bs:
            reverse[b].add(a)
    for g in (graph, reverse):
        seen = {nodes[0]}
        stack = [nodes[0]]
        while stack:
            for nxt in g[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        if len(seen) != len(nodes):
            raise AssertionError(
                f"the road network is not strongly connected: {len(nodes) - len(seen)} junctions "
                "cannot be reached (or left) obeying one-way streets"
            )


def dead_end_extensions(segments: list[RoadSegment], district: Polygon) -> list[LineString]:
    """Each dead-end street prolonged by 60 m (a riverside footpath to the water): blocks and
    grids are cut along it as along the street, so that they do not straddle a street that
    stops short of the river."""
    degree: dict[tuple[float, float], int] = defaultdict(int)
    for s in segments:
        degree[s.line.coords[0]] += 1
        degree[s.line.coords[-1]] += 1
    border = district.boundary
    result = []
    for s in segments:
        coords = list(s.line.coords)
        for end, before in ((coords[0], coords[1]), (coords[-1], coords[-2])):
            if degree[end] == 1 and border.distance(Point(end)) > 1e-6:
                dx, dy = end[0] - before[0], end[1] - before[1]
                n = math.hypot(dx, dy)
                result.append(LineString([end, (end[0] + dx / n * 60.0, end[1] + dy / n * 60.0)]))
    return result


def blocks(
    district: Polygon,
    segments: list[RoadSegment],
    river: Polygon,
    excluded: list[Polygon],
) -> list[Block]:
    """The faces between roads, river banks and the border, each with its zoning and its
    buildable area (minus road setbacks, a bank strip and ``excluded`` areas such as lakes)."""
    edges = unary_union(
        [
            district.boundary,
            river.boundary,
            *(s.line for s in segments),
            *dead_end_extensions(segments, district),
        ]
    )
    faces = []
    for face in polygonize(edges):
        p = face.representative_point()
        if district.contains(p) and not river.contains(p):
            faces.append(face)
    faces.sort(key=lambda f: (-round(f.centroid.y, 3), round(f.centroid.x, 3)))
    setbacks = unary_union(
        [s.line.buffer(plan.PROFILES[s.road_class].setback_m, quad_segs=4) for s in segments]
        + [river.buffer(15.0, quad_segs=4)]
        + [e.buffer(12.0, quad_segs=4) for e in excluded]
    )
    result = []
    for index, face in enumerate(faces):
        p = face.representative_point()
        row, column = _cell(p.x, p.y)
        zoning = plan.ZONING[row][column]
        width = 2 * face.area / face.length
        if face.distance(river) < 1.0 and width < 40.0:
            zoning = "P"  # the green strip between a riverside road and the water
        block = Block(index=index, face=face, zoning=zoning, row=row, column=column)
        block.buildable = face.difference(setbacks)
        result.append(block)
    return result


def _cell(x: float, y: float) -> tuple[int, int]:
    """(row, column) of ``plan.ZONING`` at a point; rows count from the north on each bank."""
    column = sum(1 for cx in plan.COLUMNS_X if x > cx)
    north = y > plan.river_centre_y(x)
    if north:
        row = sum(1 for ry in plan.ROWS_NORTH_Y if y < ry)
    else:
        row = 4 + sum(1 for ry in plan.ROWS_SOUTH_Y if y < ry)
    return row, column


def bank_lines(river: Polygon) -> list[LineString]:
    """The river's outline as lines (grids are cut along the banks as along roads)."""
    ring = river.exterior
    return [LineString(ring.coords)]
