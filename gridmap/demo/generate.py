"""Generate the demo district into a directory: ``python -m gridmap.demo.generate fixtures/geo``.

Deterministic: fixed seeds, features ordered by code, keys sorted, coordinates rounded to 1e-7°
(about a centimetre) with ``shapely.set_precision`` (which keeps polygons valid; neighbours keep
their shared vertices). Re-running gives byte-identical files. Works without Django or a
database: the loader (``gridmap.demo.loader``) is what reads the files into PostGIS.
"""

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import polygonize, unary_union

from gridmap.services.grids import split_area

from . import amenities, cameras, layout, people, plan, streets, zones
from .buildings import Builder
from .features import LAYERS, Demo, Feature

#: Coordinates are rounded to this grid (degrees): about 1.1 cm north–south, 0.9 cm east–west.
PRECISION_DEG = 1e-7
#: Each file must stay below this size.
MAX_FILE_BYTES = 5_000_000
GRID_TARGET_M2 = 10_000.0


# --- Areas -----------------------------------------------------------------------------------


def community_polygons(district: Polygon) -> dict[str, Polygon]:
    """The eight communities: the district cut by x = 900, 1800, 2700 and the river's centre."""
    cuts = [LineString([(x, -100.0), (x, plan.HEIGHT_M + 100.0)]) for x in (900.0, 1800.0, 2700.0)]
    edges = unary_union([district.boundary, streets.river_centre(), *cuts])
    result = {}
    for face in polygonize(edges):
        p = face.representative_point()
        if not district.contains(p):
            continue
        north = p.y > plan.river_centre_y(p.x)
        for code, _name, _slug, x0, x1, is_north in plan.COMMUNITIES:
            if x0 < p.x < x1 and north == is_north:
                full = plan.SUBDISTRICT[0] + code
                if full in result:
                    raise AssertionError(f"community {full} is in two pieces")
                result[full] = face
    assert len(result) == len(plan.COMMUNITIES), sorted(result)
    return result


def land_use_of(grid: BaseGeometry, covers: dict[str, BaseGeometry]) -> str:
    """What mostly lies in a grid: water, road surface or a zoning class; ``mixed`` when
    nothing reaches 40 % of the grid."""
    area = grid.area
    shares = {}
    rest = grid
    for kind in ("water", "road"):
        part = grid.intersection(covers[kind])
        shares[kind] = part.area / area
        rest = rest.difference(part)
    for kind, cover in covers.items():
        if kind not in ("water", "road"):
            shares[kind] = rest.intersection(cover).area / area
    best = max(sorted(shares), key=lambda k: shares[k])
    return best if shares[best] >= 0.4 else "mixed"


# --- The district ----------------------------------------------------------------------------


@dataclass
class _Base:
    """The base geography everything else is placed on (local metres)."""

    district: Polygon
    river: Polygon
    lake: Polygon
    pond: Polygon
    pieces: list[streets.RoadPiece]
    segments: list[streets.RoadSegment]
    blocks: list[streets.Block]
    communities: dict[str, Polygon]

    @property
    def waters(self) -> list[Polygon]:
        return [self.river, self.lake, self.pond]


def _base() -> _Base:
    district = streets.district_outline()
    river = streets.river_polygon(district)
    lake, pond = streets.lake_polygon(), streets.pond_polygon()
    pieces = streets.road_pieces(district)
    segments = streets.node_network(pieces, river)
    for s in segments:
        if s.line.intersects(lake) or s.line.intersects(pond):
            raise AssertionError(f"{s.name} runs into a lake")
    blocks = streets.blocks(district, segments, river, [lake, pond])
    communities = community_polygons(district)
    return _Base(district, river, lake, pond, pieces, segments, blocks, communities)


class _Communities:
    """Which community a geometry lies in."""

    def __init__(self, communities: dict[str, Polygon]) -> None:
        self.items = sorted(communities.items())
        self.grown = [(code, poly.buffer(0.5)) for code, poly in self.items]

    def containing(self, geom: BaseGeometry) -> str | None:
        """The community the geometry lies in (to within 0.5 m), or None when it straddles."""
        for code, poly in self.grown:
            if poly.covers(geom):
                return code
        return None

    def at(self, p: Point) -> str:
        for code, poly in self.items:
            if poly.covers(p):
                return code
        raise AssertionError(f"{p} is outside every community")


def build() -> Demo:
    """Draw the whole district (local metres) and its organisation."""
    demo = Demo()
    base = _base()
    where = _Communities(base.communities)
    _areas_roads_water(demo, base)
    builder = Builder(base.blocks, base.pieces, plan.SEED + 1)
    sites = layout.construction_sites(builder, base.blocks)
    builder.street_shops()
    layout.block_interiors(builder, base.blocks, where.at)
    placed = builder.layout
    layout.number_buildings(placed.buildings)
    for b in placed.buildings:
        props = {"code": b.code, "name": b.name, "use": b.use, "height_m": b.height_m}
        demo.layers["buildings"].append(Feature(b.geom, {**props, "floors": b.floors}))
    for i, (geom, props) in enumerate(sites, start=1):
        demo.layers["construction_sites"].append(Feature(geom, {"code": f"CS{i:03d}", **props}))
    grids = _grids(demo, base)

    # The organisation, then the zones that name its people.
    org, leads, inspectors, team_plans = people.organisation()
    demo.organisation = org
    for code, name, *_ in plan.COMMUNITIES:
        full = plan.SUBDISTRICT[0] + code
        props = {"code": full, "name": name, "subdistrict": plan.SUBDISTRICT[0]}
        props["leader"] = leads[full]["username"]
        demo.layers["communities"].append(Feature(base.communities[full], props))
    zones.zones(
        demo, placed.shops, base.communities, grids, leads, inspectors, team_plans, where.containing
    )
    people.team_positions(org, team_plans, base.communities, base.segments)

    addresses = amenities.Addresses(base.pieces)
    amenities.pois(demo, placed.shops, placed.facilities, base.pieces, base.segments, addresses)
    amenities.components(demo, base.pieces, base.segments, base.blocks, base.district)
    demo.layers["cameras"] = cameras.cameras(
        base.district, demo.layers["roads"], demo.layers["buildings"]
    )
    return demo


def _areas_roads_water(demo: Demo, base: _Base) -> None:
    district, subdistrict = plan.DISTRICT, plan.SUBDISTRICT
    demo.layers["district"].append(
        Feature(base.district, {"code": district[0], "name": district[1]})
    )
    demo.layers["subdistricts"].append(
        Feature(
            base.district, {"code": subdistrict[0], "name": subdistrict[1], "district": district[0]}
        )
    )
    for s in base.segments:
        props = {"code": s.code, "name": s.name, "road_class": s.road_class, "oneway": s.oneway}
        props |= {"bridge": s.bridge, "speed_kmh": s.speed_kmh}
        demo.layers["roads"].append(Feature(s.line, props))
    demo.layers["water"] += [
        Feature(base.river, {"code": "W001", "name": plan.RIVER_NAME, "kind": "river"}),
        Feature(base.lake, {"code": "W002", "name": plan.LAKE[0], "kind": "lake"}),
        Feature(base.pond, {"code": "W003", "name": plan.POND[0], "kind": "pond"}),
    ]


def _grids(demo: Demo, base: _Base) -> dict[str, list[Feature]]:
    """Unit grids: each community split by ``split_area`` along the roads, the river banks,
    the footpaths where streets stop short of the river and the lake shores."""
    covers = _land_use_covers(base.blocks, base.segments, base.waters)
    cutters = [s.line for s in base.segments] + streets.bank_lines(base.river)
    cutters += streets.dead_end_extensions(base.segments, base.district)
    cutters += [LineString(base.lake.exterior.coords), LineString(base.pond.exterior.coords)]
    result: dict[str, list[Feature]] = {}
    for code, name, *_ in plan.COMMUNITIES:
        full = plan.SUBDISTRICT[0] + code
        poly = base.communities[full]
        roads = [c for c in cutters if c.intersects(poly)]
        grids = []
        for piece in split_area(poly, target_area_m2=GRID_TARGET_M2, roads=roads):
            props = {"code": f"{full}{piece.sequence:03d}", "community": full}
            props["name"] = f"{name}第{piece.sequence:03d}网格"
            props["land_use"] = land_use_of(piece.geom, covers)
            grids.append(Feature(piece.geom, props))
        result[full] = grids
        demo.layers["grids"] += grids
    return result


def _land_use_covers(blocks, segments, waters) -> dict[str, BaseGeometry]:
    """Road surfaces, water, and the blocks of each land use (by their zoning)."""
    road = unary_union(
        [s.line.buffer(plan.PROFILES[s.road_class].half_width_m, quad_segs=2) for s in segments]
    )
    covers: dict[str, list] = defaultdict(list)
    for b in blocks:
        covers[plan.LAND_USE[b.zoning]].append(b.face)
    result = {k: unary_union(v) for k, v in sorted(covers.items())}
    result["water"] = unary_union(waters)
    result["road"] = road
    return result


# --- Writing ---------------------------------------------------------------------------------


class _ToWgs84:
    def __init__(self) -> None:
        self.transformer = Transformer.from_crs(plan.SOURCE_SRID, 4326, always_xy=True)

    def __call__(self, geom: BaseGeometry) -> BaseGeometry:
        ox, oy = plan.ORIGIN

        def f(coords: np.ndarray) -> np.ndarray:
            lon, lat = self.transformer.transform(coords[:, 0] + ox, coords[:, 1] + oy)
            return np.column_stack([lon, lat])

        out = shapely.set_precision(shapely.transform(geom, f), PRECISION_DEG)
        if isinstance(out, Polygon | MultiPolygon):
            out = shapely.orient_polygons(out)  # RFC 7946: exterior rings counter-clockwise
        return out


def _expected_type(layer: str) -> tuple[str, ...]:
    if layer == "roads":
        return ("LineString",)
    if layer in ("pois", "components", "cameras"):
        return ("Point",)
    if layer in ("buildings", "water", "construction_sites", "zones"):
        return ("MultiPolygon", "Polygon")
    return ("Polygon", "MultiPolygon")


def _feature_json(feature: Feature, to_wgs84: _ToWgs84, layer: str) -> str:
    geom = to_wgs84(feature.geom)
    if geom.is_empty or not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise AssertionError(f"{layer} {feature.code}: invalid after rounding: {reason}")
    if geom.geom_type not in _expected_type(layer):
        raise AssertionError(f"{layer} {feature.code}: {geom.geom_type}")
    body = {"type": "Feature", "properties": feature.props, "geometry": mapping(geom)}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def write(demo: Demo, directory: Path) -> dict[str, int]:
    """Write every layer and ``organisation.json`` into ``directory``; returns file sizes."""
    directory.mkdir(parents=True, exist_ok=True)
    to_wgs84 = _ToWgs84()
    sizes = {}
    for layer in LAYERS:
        features = sorted(demo.layers[layer], key=lambda f: f.code)
        codes = [f.code for f in features]
        if len(set(codes)) != len(codes):
            raise AssertionError(f"{layer}: duplicate codes")
        lines = [_feature_json(f, to_wgs84, layer) for f in features]
        text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
        sizes[f"{layer}.geojson"] = _write(directory / f"{layer}.geojson", text)
    org = dict(demo.organisation)
    teams = []
    for t in org["teams"]:
        t = dict(t)
        for key in ("base", "position"):
            p = to_wgs84(t[key])
            t[key] = [p.x, p.y]
        teams.append(t)
    org["teams"] = sorted(teams, key=lambda t: t["code"])
    org["departments"] = sorted(org["departments"], key=lambda d: d["code"])
    text = json.dumps(org, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    sizes["organisation.json"] = _write(directory / "organisation.json", text)
    return sizes


def _write(path: Path, text: str) -> int:
    data = text.encode("utf-8")
    if len(data) >= MAX_FILE_BYTES:
        raise AssertionError(f"{path.name} is {len(data)} bytes, over {MAX_FILE_BYTES}")
    path.write_bytes(data)
    return len(data)


def generate(directory: Path) -> dict[str, int]:
    """Draw the demo district and write it into ``directory``; returns the file sizes."""
    return write(build(), directory)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write the files, e.g. fixtures/geo")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    demo = build()
    sizes = write(demo, args.directory)
    elapsed = time.perf_counter() - started
    for layer in LAYERS:
        print(
            f"{layer:<20} {len(demo.layers[layer]):>6} features  {sizes[layer + '.geojson']:>9,} B"
        )
    org = demo.organisation
    print(
        f"{'organisation':<20} {len(org['departments'])} departments, {len(org['teams'])} teams, "
        f"{len(org['users'])} users  {sizes['organisation.json']:,} B"
    )
    print(f"written to {args.directory} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
