"""Points of interest (with addresses) and city components (部件) along the streets."""

import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.ops import unary_union
from shapely.strtree import STRtree

from . import plan, streets
from .buildings import Facility, Shop
from .features import Feature

COMPONENT_CLASSES_CSV = Path(__file__).resolve().parent.parent / "data" / "component_classes.csv"


class Addresses:
    """Street and house number of a point: the nearest street, numbered as shops are."""

    def __init__(self, pieces: list[streets.RoadPiece]) -> None:
        self.pieces = pieces
        self.tree = STRtree([p.line for p in pieces])

    def nearest(self, point: Point) -> streets.RoadPiece:
        i = int(self.tree.nearest(point))
        return self.pieces[i]

    def __call__(self, point: Point) -> str:
        piece = self.nearest(point)
        on = piece.line.interpolate(piece.line.project(point))
        if piece.name.endswith("大街"):
            along, odd = plan.HEIGHT_M - point.y, point.x < on.x
        else:
            along, odd = point.x, point.y > on.y
        return f"{piece.name}{2 * int(along / 10.0) + (1 if odd else 2)}号"


# --- The district ----------------------------------------------------------------------------


def pois(demo, shops: list[Shop], facilities: list[Facility], pieces, segments, addresses):
    rng = np.random.default_rng(plan.SEED + 6)
    items: list[tuple[str, str, Point, str]] = []
    for f in facilities:
        items.append((f.kind, f.name, f.point, addresses(f.point)))
    ordered = sorted(shops, key=lambda s: s.building.code)
    for kind, count in (("restaurant", 60), ("shop", 120)):
        pool = [s for s in ordered if s.kind == kind]
        chosen = sorted(int(i) for i in rng.choice(len(pool), size=count, replace=False))
        for i in chosen:
            s = pool[i]
            items.append((kind, s.name, s.door, f"{s.street}{s.number}号"))
    items += _bus_stops(pieces, segments)
    kinds = ["government", "hospital", "school", "market", "park", "restaurant", "shop", "bus_stop"]
    items.sort(key=lambda it: (kinds.index(it[0]), it[1], round(it[2].x, 3), round(it[2].y, 3)))
    for n, (kind, name, point, address) in enumerate(items, start=1):
        demo.layers["pois"].append(
            Feature(point, {"code": f"POI{n:05d}", "name": name, "kind": kind, "address": address})
        )


def _cross_street(point: Point, name: str, segments) -> str:
    best = None
    for s in segments:
        if s.name == name:
            continue
        for end in (s.line.coords[0], s.line.coords[-1]):
            d = point.distance(Point(end))
            if best is None or d < best[0]:
                best = (d, s.name)
    return best[1]


BUS_ROUTES = {
    "航海东路",
    "明湖路",
    "经南五路",
    "经开第八大街",
    "经开第十二大街",
    "经开第十四大街",
    "经开第十六大街",
}


def _bus_stops(pieces, segments) -> list[tuple[str, str, Point, str]]:
    """Bus stops on the bus routes' streets every ~600 m, on both sides, named after the nearest
    cross street (站名: 大街 + 路 + 站)."""
    stops = []
    for piece in pieces:
        if piece.name not in BUS_ROUTES or piece.line.length < 300:
            continue
        profile = plan.PROFILES[piece.road_class]
        length = piece.line.length
        s = 120.0
        while s < length - 60.0:
            for side in (1, -1):
                p, (nx, ny) = _along(piece.line, s + side * 15.0, side)
                at = Point(
                    p.x + nx * (profile.half_width_m + 2.0), p.y + ny * (profile.half_width_m + 2.0)
                )
                cross = _cross_street(at, piece.name, segments)
                name = f"{piece.name}{cross}站"
                stops.append(("bus_stop", name, at, f"{piece.name}（{cross}口）"))
            s += 600.0
    return stops


def _along(line: LineString, s: float, side: int) -> tuple[Point, tuple[float, float]]:
    """The point ``s`` metres along ``line`` and the unit normal towards ``side`` (+1 left)."""
    s = min(max(s, 0.0), line.length)
    p = line.interpolate(s)
    a = line.interpolate(max(s - 1.0, 0.0))
    b = line.interpolate(min(s + 1.0, line.length))
    tx, ty = b.x - a.x, b.y - a.y
    n = math.hypot(tx, ty)
    return p, (-ty / n * side, tx / n * side)


#: Components along streets: (class, owner department or None, owner name, spacing m,
#: classes of street, where: "sidewalk" / "carriageway").
COMPONENT_RULES = [
    ("0110", "D01", "", 150.0, ("primary", "secondary"), "sidewalk"),
    ("0101", "D01", "", 600.0, ("primary", "secondary", "branch"), "carriageway"),
    ("0102", "D01", "", 600.0, ("primary", "secondary", "branch"), "carriageway"),
    ("0103", "D01", "", 600.0, ("primary", "secondary", "branch"), "carriageway"),
    ("0105", None, "经开区供电公司", 900.0, ("primary", "secondary"), "carriageway"),
    ("0302", "D02", "", 350.0, ("primary", "secondary"), "sidewalk"),
    ("0303", "D02", "", 600.0, ("branch",), "sidewalk"),
    ("0109", None, "经开区消防救援大队", 400.0, ("secondary",), "sidewalk"),
]


def components(demo, pieces, segments, blocks, district) -> None:
    rng = np.random.default_rng(plan.SEED + 7)
    classes = {}
    with COMPONENT_CLASSES_CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            classes[row["major_code"] + row["minor_code"]] = row["minor_name"]
    carriageway = unary_union(
        [s.line.buffer(plan.PROFILES[s.road_class].half_width_m, quad_segs=2) for s in segments]
    )
    shapely.prepare(carriageway)
    found: list[tuple[str, Point, str | None, str, str]] = []
    for cls, dept, owner, spacing, road_classes, where in COMPONENT_RULES:
        for _k, piece in enumerate(pieces):
            if piece.road_class not in road_classes:
                continue
            half = plan.PROFILES[piece.road_class].half_width_m
            s = float(rng.uniform(10.0, spacing / 2))
            side = 1
            while s < piece.line.length - 10.0:
                p, (nx, ny) = _along(piece.line, s, side)
                out = half + 1.0 if where == "sidewalk" else half * float(rng.uniform(0.2, 0.7))
                at = Point(p.x + nx * out, p.y + ny * out)
                if where == "carriageway" or not carriageway.contains(at):
                    found.append((cls, at, dept, owner, piece.name))
                s += spacing * float(rng.uniform(0.85, 1.15))
                side = -side
    # Traffic signs on the sidewalk 30 m before each junction of main streets, bus shelters at
    # the bus stops, public toilets in the parks.
    junctions = defaultdict(list)
    for s in segments:
        if s.road_class in ("primary", "secondary"):
            junctions[s.line.coords[0]].append((s, 1))
            junctions[s.line.coords[-1]].append((s, -1))
    for end in sorted(junctions):
        if len({s.name for s, _ in junctions[end]}) < 2:
            continue
        s, direction = min(junctions[end], key=lambda item: item[0].code)
        line = s.line if direction == 1 else s.line.reverse()
        p, (nx, ny) = _along(line, 30.0, -1)  # approaching traffic's right-hand side
        out = plan.PROFILES[s.road_class].half_width_m + 1.0
        at = Point(p.x + nx * out, p.y + ny * out)
        if not carriageway.contains(at):
            found.append(("0206", at, None, "经开区交警大队", s.name))
    for poi in demo.layers["pois"]:
        if poi.props["kind"] == "bus_stop":
            found.append(("0202", poi.geom, None, "郑州公交集团", poi.props["name"]))
    for b in demo.layers["buildings"]:
        if b.props["name"].endswith("公厕"):
            found.append(("0301", b.geom.centroid, "D02", "", b.props["name"]))
    # Street furniture stands on the sidewalk, never inside a building, and only the district's
    # own: the far side of a border road belongs to the neighbouring district.
    footprints = STRtree([b.geom for b in demo.layers["buildings"]])
    shapely.prepare(district)
    serial: dict[str, int] = defaultdict(int)
    for cls, at, dept, owner, where_name in found:
        if cls != "0301" and len(footprints.query(at, predicate="dwithin", distance=0.5)):
            continue
        if not district.contains(at):
            continue
        if cls not in classes:
            raise AssertionError(f"component class {cls} is not in {COMPONENT_CLASSES_CSV.name}")
        serial[cls] += 1
        r = rng.random()
        condition = "good" if r < 0.92 else ("damaged" if r < 0.98 else "missing")
        demo.layers["components"].append(
            Feature(
                at,
                {
                    "code": f"{plan.DISTRICT[0]}{cls}{serial[cls]:06d}",
                    "name": f"{where_name}{classes[cls]}",
                    "class": cls,
                    "owner_department": dept,
                    "owner_name": owner,
                    "condition": condition,
                },
            )
        )
