"""The demo district's cameras (天网点位): about 600, at junctions and on building walls.

Placed the way a 天网 build-out places them:

- **Junctions** (nodes where three or more road segments meet): one fixed camera per arm, on
  the sidewalk corner to the arm's right, looking down the arm (heading = the arm's bearing
  from the junction). Range by the road's class (a primary road is watched further), and a PTZ
  dome (球机, heading 0 at rest) on the junctions of main roads.
- **Building walls**: points on a footprint's edge that faces a street within 25 m, looking
  along the street (one way or the other), turned 20° away from the wall so the camera does not
  stare along its own facade. Spaced at least ``WALL_SPACING_M`` from every other camera.

Ranges 30–150 m, fields of view 40–90°, mount heights 4–12 m. Junction cameras and domes run
the analytics and post through the demo's camera unit (``camera_unit``); wall cameras have no
unit. A few carry an HLS stream URL placeholder (``.example``: nothing answers there).

Pure geometry in local metres (shapely, numpy); deterministic with ``CAMERA_SEED``.
"""

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from . import plan
from .features import Feature

CAMERA_SEED = plan.SEED + 17
TARGET_CAMERAS = 600
#: Wall cameras stand at least this far from any other camera (m).
WALL_SPACING_M = 45.0
#: A wall faces a street when the street's centre line is this close to it (m).
WALL_STREET_M = 25.0
#: How far a wall camera turns from the street's direction towards the street (°).
WALL_TURN_DEG = 20.0
DEVICE_ACCOUNT = "camera_unit"
OWNER_POLICE = "公安天网"
OWNER_CITY = "城管"
HLS_PLACEHOLDER = "http://video.minghu.example/hls/{code}/index.m3u8"
DIRECTIONS = ["北", "东北", "东", "东南", "南", "西南", "西", "西北"]
#: Fixed junction cameras' range (m) by road class: (low, high).
JUNCTION_RANGE_M = {"primary": (100, 150), "secondary": (70, 120), "branch": (40, 90)}


def bearing_deg(dx: float, dy: float) -> float:
    """Degrees clockwise from north of the vector (dx east, dy north), in [0, 360)."""
    return round(math.degrees(math.atan2(dx, dy)), 1) % 360.0


def direction_word(heading: float) -> str:
    """东向, 东北向 …: the nearest of eight compass points."""
    return DIRECTIONS[int((heading + 22.5) // 45) % 8] + "向"


@dataclass
class Arm:
    """A road segment leaving a junction."""

    name: str
    road_class: str
    bearing: float  # from the junction, degrees clockwise from north
    unit: tuple[float, float]  # unit vector along the arm


@dataclass
class Junction:
    x: float
    y: float
    arms: list[Arm]

    @property
    def main(self) -> bool:
        return any(a.road_class in ("primary", "secondary") for a in self.arms)


def junctions(roads: list[Feature]) -> list[Junction]:
    """Nodes where three or more road segments meet, with their arms (west to east, south to
    north). The arm's bearing is taken 15 m out, past any kink at the node."""
    nodes: dict[tuple[float, float], list[Arm]] = defaultdict(list)
    for road in roads:
        line: LineString = road.geom
        step = min(15.0, line.length)
        for end, along in ((0, step), (-1, line.length - step)):
            x, y = line.coords[end]
            ahead = line.interpolate(along)
            dx, dy = ahead.x - x, ahead.y - y
            norm = math.hypot(dx, dy) or 1.0
            arm = Arm(
                road.props["name"],
                road.props["road_class"],
                bearing_deg(dx, dy),
                (dx / norm, dy / norm),
            )
            nodes[(round(x, 2), round(y, 2))].append(arm)
    found = [Junction(x, y, arms) for (x, y), arms in nodes.items() if len(arms) >= 3]
    return sorted(found, key=lambda j: (j.x, j.y))


def _cross_name(junction: Junction, arm: Arm) -> str:
    """The name of another road at the junction (the arm's own name when all share it)."""
    others = sorted({a.name for a in junction.arms if a.name != arm.name})
    return others[0] if others else arm.name


def _place_name(junction: Junction, arm: Arm) -> str:
    other = _cross_name(junction, arm)
    return f"{arm.name}与{other}交叉口" if other != arm.name else f"{arm.name}路口"


class _Placer:
    """Draws the cameras, in order, with one random generator."""

    def __init__(self, district: Polygon) -> None:
        self.district = district
        self.rng = np.random.default_rng(CAMERA_SEED)
        self.features: list[Feature] = []
        self.points: list[tuple[float, float]] = []

    def add(self, geom: Point, **props) -> None:
        code = f"MH-CAM-{len(self.features) + 1:04d}"
        heading = round(float(props.pop("heading_deg")), 1) % 360.0
        stream = HLS_PLACEHOLDER.format(code=code) if props.pop("hls") else ""
        self.features.append(
            Feature(
                geom,
                {
                    "code": code,
                    "heading_deg": heading,
                    "stream_url": stream,
                    "snapshot_url": "",
                    **props,
                },
            )
        )
        self.points.append((geom.x, geom.y))

    def uniform(self, low: float, high: float, step: float) -> float:
        return float(round(float(self.rng.uniform(low, high)) / step) * step)

    def junction_cameras(self, junction: Junction) -> None:
        for arm in sorted(junction.arms, key=lambda a: a.bearing):
            spot = self._corner(junction, arm)
            if spot is None:
                continue
            low, high = JUNCTION_RANGE_M[arm.road_class]
            self.add(
                spot,
                name=f"{_place_name(junction, arm)} {direction_word(arm.bearing)}",
                heading_deg=arm.bearing,
                fov_deg=self.uniform(40, 70 if arm.road_class == "primary" else 90, 5),
                range_m=self.uniform(low, high, 5),
                ptz=False,
                mount_height_m=self.uniform(6, 8, 0.5),
                owner=OWNER_POLICE,
                device=DEVICE_ACCOUNT,
                hls=bool(self.rng.random() < 0.05),
            )
        if junction.main:
            arm = max(junction.arms, key=lambda a: (a.road_class == "primary", a.name))
            # On the corner to the arm's left, 3 m beyond the fixed camera standing there.
            spot = self._corner(junction, arm, side=-1, beyond_m=3.0)
            if spot is not None:
                self.add(
                    spot,
                    name=f"{_place_name(junction, arm)} 球机",
                    heading_deg=0.0,
                    fov_deg=60.0,
                    range_m=self.uniform(80, 150, 5),
                    ptz=True,
                    mount_height_m=self.uniform(8, 12, 0.5),
                    owner=OWNER_POLICE,
                    device=DEVICE_ACCOUNT,
                    hls=bool(self.rng.random() < 0.3),
                )

    def _corner(
        self, junction: Junction, arm: Arm, side: int = 1, beyond_m: float = 0.0
    ) -> Point | None:
        """The sidewalk corner beside the arm's start (to its right, or its left with
        ``side=-1``; the other side when that one lies outside the district)."""
        profile = plan.PROFILES[arm.road_class]
        crossing = max(
            plan.PROFILES[a.road_class].half_width_m for a in junction.arms if a is not arm
        )
        along = crossing + profile.sidewalk_m / 2 + beyond_m
        aside = profile.half_width_m + profile.sidewalk_m / 2
        ux, uy = arm.unit
        right = (uy, -ux)
        for s in (side, -side):
            p = Point(
                junction.x + ux * along + s * right[0] * aside,
                junction.y + uy * along + s * right[1] * aside,
            )
            if self.district.contains(p):
                return p
        return None

    def wall_cameras(self, buildings: list[Feature], roads: list[Feature]) -> None:
        lines = [r.geom for r in roads]
        tree = shapely.STRtree(lines)
        order = self.rng.permutation(len(buildings))
        for i in order:
            if len(self.features) >= TARGET_CAMERAS:
                return
            building = buildings[int(i)]
            placed = self._on_wall(building, lines, tree, roads)
            if placed is None:
                continue
            spot, heading, road_name = placed
            if self._crowded(spot) or not self.district.contains(spot):
                continue
            ptz = bool(self.rng.random() < 0.04)
            self.add(
                spot,
                name=f"{road_name}{building.props['name']}外墙 "
                + ("球机" if ptz else direction_word(heading)),
                heading_deg=0.0 if ptz else heading,
                fov_deg=60.0 if ptz else self.uniform(60, 90, 5),
                range_m=self.uniform(60, 100, 5) if ptz else self.uniform(30, 80, 5),
                ptz=ptz,
                mount_height_m=self.uniform(4, 8, 0.5),
                owner=OWNER_CITY if self.rng.random() < 0.7 else OWNER_POLICE,
                device="",
                hls=bool(self.rng.random() < 0.03),
            )

    def _crowded(self, spot: Point) -> bool:
        if not self.points:
            return False
        xy = np.asarray(self.points)
        return bool((np.hypot(xy[:, 0] - spot.x, xy[:, 1] - spot.y) < WALL_SPACING_M).any())

    def _on_wall(self, building: Feature, lines, tree, roads) -> tuple | None:
        """(point on the wall nearest a street, heading along that street, street name)."""
        outline: BaseGeometry = building.geom
        polygon = max(getattr(outline, "geoms", [outline]), key=lambda g: g.area)
        near = tree.query(polygon, predicate="dwithin", distance=WALL_STREET_M)
        if len(near) == 0:
            return None
        road_index = min(near, key=lambda k: (polygon.distance(lines[k]), k))
        road = lines[road_index]
        ring = list(polygon.exterior.coords)
        edges = [LineString([a, b]) for a, b in itertools.pairwise(ring)]
        edges = [e for e in edges if e.length >= 6.0]
        if not edges:
            return None
        wall = min(edges, key=lambda e: road.distance(e.interpolate(0.5, normalized=True)))
        spot = wall.interpolate(0.5, normalized=True)
        s = road.project(spot)
        a = road.interpolate(max(s - 5.0, 0.0))
        b = road.interpolate(min(s + 5.0, road.length))
        tx, ty = b.x - a.x, b.y - a.y
        norm = math.hypot(tx, ty)
        if norm == 0:
            return None
        tx, ty = tx / norm, ty / norm
        if self.rng.random() < 0.5:
            tx, ty = -tx, -ty
        foot = road.interpolate(s)
        nx, ny = foot.x - spot.x, foot.y - spot.y  # from the wall towards the street
        nn = math.hypot(nx, ny) or 1.0
        turn = math.radians(WALL_TURN_DEG)
        hx = tx * math.cos(turn) + nx / nn * math.sin(turn)
        hy = ty * math.cos(turn) + ny / nn * math.sin(turn)
        return spot, bearing_deg(hx, hy), roads[road_index].props["name"]


def cameras(district: Polygon, roads: list[Feature], buildings: list[Feature]) -> list[Feature]:
    """The demo's cameras (local metres): junction cameras and domes first, then wall cameras
    up to ``TARGET_CAMERAS``; codes MH-CAM-0001 … in that order."""
    placer = _Placer(district)
    for junction in junctions(roads):
        placer.junction_cameras(junction)
    placer.wall_cameras(sorted(buildings, key=lambda b: b.code), roads)
    return placer.features
