"""Building footprints (local metres): street shops with their frontage strips, then each
block's interior by its zoning.

Nothing overlaps: every footprint lies inside its block's buildable area (the block minus the
road setbacks — half the carriageway, the sidewalk and a green strip — a bank strip along the
river and a margin around lakes) and keeps a gap to everything placed before it. Street shops
(临街商铺) stand on the building line facing the street; the strip between a shop's front and the
kerb is its frontage zone (门前五包), kept 0.1 m clear of the shop so that the two never overlap
even after rounding.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.affinity import rotate
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from . import plan
from .streets import Block, RoadPiece

SHOP_ZONINGS = {"R", "T", "M", "C", "V"}


@dataclass
class BuildingRec:
    geom: Polygon
    use: str
    floors: int
    height_m: float
    name: str = ""
    code: str = ""


@dataclass
class Shop:
    """A street shop: its building, its frontage zone and its address."""

    building: BuildingRec
    name: str
    kind: str  # "restaurant" or "shop"
    street: str
    number: int
    frontage: Polygon
    door: Point


@dataclass
class Facility:
    """A named place inside a block (school, hospital, market…): becomes a point of interest."""

    name: str
    kind: str  # PointOfInterest.Kind value
    point: Point
    street: str = ""


@dataclass
class Layout:
    buildings: list[BuildingRec] = field(default_factory=list)
    shops: list[Shop] = field(default_factory=list)
    facilities: list[Facility] = field(default_factory=list)


class _Footprints:
    """What is already placed (buildings and reserved areas), in a hash of 50 m cells."""

    CELL = 50.0

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[BaseGeometry]] = defaultdict(list)

    def _keys(self, geom: BaseGeometry, margin: float):
        minx, miny, maxx, maxy = geom.bounds
        c = self.CELL
        for i in range(math.floor((minx - margin) / c), math.floor((maxx + margin) / c) + 1):
            for j in range(math.floor((miny - margin) / c), math.floor((maxy + margin) / c) + 1):
                yield (i, j)

    def add(self, geom: BaseGeometry) -> None:
        for k in self._keys(geom, 0.0):
            self.cells[k].append(geom)

    def clear_of(self, geom: BaseGeometry, gap: float) -> bool:
        seen = set()
        for k in self._keys(geom, gap):
            for other in self.cells.get(k, ()):
                if id(other) in seen:
                    continue
                seen.add(id(other))
                if shapely.dwithin(geom, other, gap):
                    return False
        return True


def _rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _r(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _height(floors: int, per_floor: float, extra: float = 1.5) -> float:
    return round(floors * per_floor + extra, 1)


class Builder:
    """Places the district's buildings block by block."""

    def __init__(self, blocks: list[Block], pieces: list[RoadPiece], seed: int) -> None:
        self.blocks = blocks
        self.pieces = pieces
        self.rng = np.random.default_rng(seed)
        self.placed = _Footprints()
        self.layout = Layout()
        self.block_tree = STRtree([b.face for b in blocks])
        for b in blocks:
            shapely.prepare(b.buildable)
        self.names_used: set[str] = set()

    # -- helpers ------------------------------------------------------------------------------

    def block_at(self, p: Point) -> Block | None:
        for i in sorted(int(k) for k in self.block_tree.query(p, predicate="within")):
            return self.blocks[i]
        return None

    def fits(self, geom: Polygon, region, gap: float) -> bool:
        return geom.within(region) and self.placed.clear_of(geom, gap)

    def add(self, geom: Polygon, use: str, floors: int, height_m: float, name: str = ""):
        rec = BuildingRec(geom=geom, use=use, floors=floors, height_m=height_m, name=name)
        self.layout.buildings.append(rec)
        self.placed.add(geom)
        return rec

    def reserve(self, geom: BaseGeometry) -> None:
        self.placed.add(geom)

    def scatter(self, region, w: float, h: float, gap: float, tries: int = 80):
        """A random axis-aligned w × h rectangle inside ``region`` clear of everything, or None."""
        if region.is_empty:
            return None
        minx, miny, maxx, maxy = region.bounds
        for _ in range(tries):
            x = _r(self.rng, minx, max(minx, maxx - w))
            y = _r(self.rng, miny, max(miny, maxy - h))
            rect = _rect(x, y, x + w, y + h)
            if self.fits(rect, region, gap):
                return rect
        return None

    # -- street shops -------------------------------------------------------------------------

    def street_shops(self) -> None:
        """Shops on the building line of every street side whose block takes shops."""
        numbers: dict[tuple[str, int], set[int]] = defaultdict(set)
        order = {"primary": 0, "secondary": 1, "branch": 2}
        pieces = sorted(
            range(len(self.pieces)), key=lambda i: (order[self.pieces[i].road_class], i)
        )
        for i in pieces:
            piece = self.pieces[i]
            for side in (1, -1):
                self._shops_along(piece, side, numbers)

    def _shops_along(self, piece: RoadPiece, side: int, numbers) -> None:
        rng = self.rng
        profile = plan.PROFILES[piece.road_class]
        line = piece.line
        length = line.length
        # Main streets are lined with shops between compound gates; side streets only here
        # and there (village lanes are lined throughout, see below).
        runs, gaps = ((30.0, 100.0), (30.0, 80.0))
        if piece.road_class == "branch":
            runs, gaps = ((15.0, 45.0), (80.0, 200.0))
        s = _r(rng, 0.0, 12.0)
        run_left = _r(rng, *runs)
        while s < length - 6.0:
            if run_left <= 0:
                s += _r(rng, *gaps)  # a compound gate, a wall, a lawn
                run_left = _r(rng, *runs)
                continue
            w = _r(rng, 8.0, 16.0)
            depth = _r(rng, 10.0, 15.0)
            mid = s + w / 2
            if mid > length - 2.0:
                break
            p = line.interpolate(mid)
            a = line.interpolate(max(mid - 1.0, 0.0))
            b = line.interpolate(min(mid + 1.0, length))
            tx, ty = b.x - a.x, b.y - a.y
            tn = math.hypot(tx, ty)
            tx, ty = tx / tn, ty / tn
            nx, ny = -ty * side, tx * side  # towards this side of the street

            def at(along: float, out: float, p=p, tx=tx, ty=ty, nx=nx, ny=ny):
                return (p.x + tx * along + nx * out, p.y + ty * along + ny * out)

            front = profile.setback_m
            shop = Polygon(
                [
                    at(-w / 2, front),
                    at(w / 2, front),
                    at(w / 2, front + depth),
                    at(-w / 2, front + depth),
                ]
            )
            block = self.block_at(Point(at(0.0, front + depth / 2)))
            if (
                block is None
                or block.zoning not in SHOP_ZONINGS
                or not self.fits(shop, block.buildable, 1.0)
            ):
                s += 3.0
                continue
            floors = int(rng.choice([1, 1, 2, 2, 2, 3]))
            rec = self.add(shop, "commercial", floors, round(4.5 + 3.5 * (floors - 1), 1))
            frontage = Polygon(
                [
                    at(-w / 2, profile.half_width_m),
                    at(w / 2, profile.half_width_m),
                    at(w / 2, front - 0.1),
                    at(-w / 2, front - 0.1),
                ]
            )
            door = Point(at(0.0, front))
            street, number = self._address(piece, door, numbers)
            kind = "restaurant" if rng.random() < 0.3 else "shop"
            rec.name = self._shop_name(kind, street, number)
            self.layout.shops.append(Shop(rec, rec.name, kind, street, number, frontage, door))
            s += w + 1.0
            if block.zoning != "V":
                run_left -= w + 1.0

    def _address(self, piece: RoadPiece, door: Point, numbers) -> tuple[str, int]:
        """House numbers grow along the street (from its north or west end), odd on the
        west / north side, even on the east / south side, unique per street."""
        north_south = piece.name.endswith("大街")
        if north_south:
            along = plan.HEIGHT_M - door.y
            odd = door.x < piece.line.interpolate(piece.line.project(door)).x
        else:
            along = door.x
            odd = door.y > piece.line.interpolate(piece.line.project(door)).y
        parity = 1 if odd else 2
        n = 2 * int(along / 10.0) + parity
        used = numbers[(piece.name, parity)]
        while n in used:
            n += 2
        used.add(n)
        return piece.name, n

    def _shop_name(self, kind: str, street: str, number: int) -> str:
        kinds = plan.RESTAURANT_KINDS if kind == "restaurant" else plan.SHOP_KINDS
        name = str(self.rng.choice(plan.SHOP_PREFIXES)) + str(self.rng.choice(kinds))
        for candidate in (name, f"{name}（{street}店）", f"{name}（{street}{number}号店）"):
            if candidate not in self.names_used:
                self.names_used.add(candidate)
                return candidate
        raise AssertionError(f"shop name {name} at {street}{number}号 is taken")

    # -- block interiors ----------------------------------------------------------------------

    def residential(self, block: Block, style: str, name: str) -> None:
        """A compound (小区): rows of south-facing buildings, ``style`` "towers" (26–33
        floors), "slabs" (11–18 floors) or "walkups" (older 6–7 floor blocks, closer rows)."""
        rng = self.rng
        towers = style == "towers"
        region = block.buildable.buffer(-22.0, quad_segs=2)
        if region.is_empty:
            return
        minx, miny, maxx, maxy = region.bounds
        y = maxy - _r(rng, 0.0, 6.0)
        n = 0
        while y > miny + 12.0:
            depth = _r(rng, 18.0, 24.0) if towers else _r(rng, 11.0, 16.0)
            x = minx + _r(rng, 0.0, 12.0)
            while x < maxx - 15.0:
                if towers:
                    length = _r(rng, 22.0, 30.0)
                    floors = int(rng.integers(26, 34))
                elif style == "walkups":
                    length = _r(rng, 36.0, 56.0)
                    floors = int(rng.integers(6, 8))
                else:
                    length = _r(rng, 40.0, 68.0)
                    floors = int(rng.integers(11, 19))
                geom = _rect(x, y - depth, x + length, y)
                if not towers and rng.random() < 0.15:
                    # An L-shaped slab: a wing to the south at its east end.
                    wing = _rect(
                        x + length - 14.0,
                        y - depth - _r(rng, 10.0, 20.0),
                        x + length,
                        y - depth + 0.5,
                    )
                    geom = shapely.union(geom, wing, grid_size=0.01)
                if not self.fits(geom, region, 8.0):
                    geom = _rect(x, y - depth, x + length * 0.6, y)
                    length *= 0.6
                if self.fits(geom, region, 8.0):
                    n += 1
                    self.add(geom, "residential", floors, _height(floors, 2.9), f"{name}{n}号楼")
                x += length + (_r(rng, 24.0, 32.0) if towers else _r(rng, 14.0, 22.0))
            spacing = {"towers": (45.0, 55.0), "slabs": (30.0, 40.0), "walkups": (16.0, 20.0)}
            y -= depth + _r(rng, *spacing[style])
        # Ancillary buildings: a substation, the property office, a bicycle shed.
        for w, h, use, floors, label in [
            (8.0, 6.0, "other", 1, "配电房"),
            (24.0, 14.0, "office", 2, "物业服务中心"),
            (18.0, 6.0, "other", 1, "自行车棚"),
        ]:
            rect = self.scatter(region, w, h, 5.0)
            if rect is not None:
                self.add(rect, use, floors, _height(floors, 3.5, 0.5), f"{name}{label}")

    def village(self, block: Block, name: str) -> None:
        rng = self.rng
        region = block.buildable.buffer(-18.0, quad_segs=2)
        if region.is_empty:
            return
        minx, miny, maxx, maxy = region.bounds
        y = maxy
        row = 0
        while y > miny + 8.0:
            depth = _r(rng, 9.0, 13.0)
            x = minx + _r(rng, 0.0, 3.0)
            while x < maxx - 6.0:
                w = _r(rng, 8.0, 12.0)
                if rng.random() > 0.06:
                    jx, jy = _r(rng, -0.4, 0.4), _r(rng, -0.4, 0.4)
                    geom = _rect(x + jx, y - depth + jy, x + w + jx, y + jy)
                    if self.fits(geom, region, 2.0):
                        floors = int(rng.integers(3, 7))
                        self.add(geom, "residential", floors, _height(floors, 3.2, 0.8))
                x += w + _r(rng, 2.6, 3.6)
            row += 1
            # A main lane every five rows of houses.
            y -= depth + (_r(rng, 6.0, 8.0) if row % 5 == 0 else _r(rng, 2.6, 3.6))

    def commercial(self, block: Block, name: str) -> None:
        rng = self.rng
        region = block.buildable.buffer(-20.0, quad_segs=2)
        items = [
            (
                _r(rng, 90, 130),
                _r(rng, 50, 70),
                "commercial",
                int(rng.integers(4, 6)),
                6.0,
                f"{name}购物中心",
            ),
            (_r(rng, 55, 70), 16.0, "commercial", int(rng.integers(12, 17)), 3.3, f"{name}酒店"),
        ]
        for k in range(int(rng.integers(2, 5))):
            items.append(
                (
                    _r(rng, 30, 40),
                    _r(rng, 22, 28),
                    "office",
                    int(rng.integers(18, 29)),
                    3.8,
                    f"{name}大厦{'ABCD'[k]}座",
                )
            )
        for _ in range(int(rng.integers(2, 5))):
            items.append((_r(rng, 25, 35), _r(rng, 15, 22), "commercial", 2, 4.5, ""))
        for w, h, use, floors, per_floor, label in items:
            rect = self.scatter(region, w, h, 15.0)
            if rect is not None:
                self.add(rect, use, floors, _height(floors, per_floor), label)

    def industrial(self, block: Block, name: str) -> None:
        rng = self.rng
        region = block.buildable.buffer(-8.0, quad_segs=2)
        sheds = max(2, int(region.area / 9000.0))
        n = 0
        for _ in range(sheds):
            w, h = _r(rng, 40, 110), _r(rng, 24, 50)
            if rng.random() < 0.5:
                w, h = h, w
            rect = self.scatter(region, w, h, 12.0, tries=40)
            if rect is not None:
                n += 1
                self.add(rect, "industrial", 1, round(_r(rng, 8.0, 14.0), 1), f"{name}{n}号厂房")
        for _ in range(max(1, sheds // 4)):
            rect = self.scatter(region, _r(rng, 30, 45), _r(rng, 14, 18), 10.0)
            if rect is not None:
                floors = int(rng.integers(3, 6))
                self.add(rect, "office", floors, _height(floors, 3.6), f"{name}办公楼")
            rect = self.scatter(region, 5.0, 4.0, 4.0)
            if rect is not None:
                self.add(rect, "other", 1, 3.5, f"{name}门卫室")

    def campus(self, block: Block, buildings: list[tuple], reserved: list[tuple]) -> list[Polygon]:
        """Place named buildings (w, h, use, floors, per floor, name, L-wing?) after reserving
        open areas (w, h) such as a sports field; returns the footprints in order."""
        region = block.buildable.buffer(-10.0, quad_segs=2)
        for w, h in reserved:
            rect = self.scatter(region, w, h, 10.0, tries=200)
            if rect is not None:
                self.reserve(rect)
        placed = []
        for w, h, use, floors, per_floor, label, wing in buildings:
            rect = self.scatter(region, w, h, 12.0, tries=200)
            if rect is None:
                continue
            if wing:
                minx, miny, _maxx, _maxy = rect.bounds
                ell = shapely.union(
                    rect, _rect(minx, miny - 28.0, minx + 16.0, miny + 0.5), grid_size=0.01
                )
                if self.fits(ell, region, 12.0):
                    rect = ell
            self.add(rect, use, floors, _height(floors, per_floor), label)
            placed.append(rect)
        return placed

    def park(self, block: Block, name: str, teahouse: bool) -> None:
        rng = self.rng
        region = block.buildable.buffer(-3.0, quad_segs=2)
        for k in range(int(rng.integers(2, 6))):
            rect = self.scatter(region, 5.0, 5.0, 15.0)
            if rect is not None:
                self.add(rotate(rect, 45.0), "other", 1, 4.0, f"{name}{k + 1}号亭")
        rect = self.scatter(region, 10.0, 6.0, 10.0)
        if rect is not None:
            self.add(rect, "public", 1, 4.0, f"{name}公厕")
        if teahouse:
            rect = self.scatter(region, 20.0, 12.0, 10.0)
            if rect is not None:
                self.add(rect, "commercial", 2, 8.0, f"{name}茶社")

    def facility(self, name: str, kind: str, geom: BaseGeometry) -> None:
        self.layout.facilities.append(Facility(name, kind, geom.centroid))
