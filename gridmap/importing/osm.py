"""Base geography from an OpenStreetMap extract: ``osm_read`` and ``osm_import``.

OpenStreetMap (OSM) data is nodes (points), ways (ordered lists of nodes; a closed way is an area
when its tags say so) and relations (here: multipolygons, areas with holes or several parts), each
with free-form ``key=value`` tags. pyosmium (libosmium's Python binding, the OSM project's own
reader) streams a ``.osm.pbf``, keeps node locations and assembles multipolygons; this module maps
the tags onto our layers:

- ``road``: ``highway=*`` ways, cut into segments between junctions. OSM ways meet by sharing a
  node, so a node used by two ways (or twice by one) is a junction; cutting every way there gives
  the noded network that routing needs. Codes ``osm-w<way id>-<segment index>``.
- ``building``: ``building=*`` areas with height (``height``, else 3 m per ``building:levels``).
- ``water``: ``natural=water``, ``waterway=riverbank``, ``landuse=reservoir/basin`` areas, and
  river / canal / stream lines buffered by their ``width`` (or a default) in a metric CRS.
- ``poi``: markets, schools, hospitals, restaurants, shops, parks, government, bus stops and
  surveillance cameras (``man_made=surveillance``), areas reduced to a point on their surface.

Codes come from OSM ids (``osm-n<id>``, ``osm-w<id>``, ``osm-r<id>``), so importing the same or a
newer extract again updates rows (keeping their ids) instead of duplicating them; rows that a newer
extract no longer has are left alone. ``osm_read`` gives per-layer GeoDataFrames in WGS-84 whose
columns are the model fields plus ``code``; ``osm_import`` checks them against the storage CRS,
projects them and writes all layers in one transaction.
"""

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyproj
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import DataError, IntegrityError, transaction
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry
from tqdm import tqdm

from ..crs import area_of_use, in_storage_crs_domain
from ..models import Building, PointOfInterest, Road, Water
from .report import ImportReport

__all__ = [
    "LAYERS",
    "OsmImportError",
    "OsmImportResult",
    "OsmLayers",
    "osm_import",
    "osm_read",
    "parse_bbox",
]

Bbox = tuple[float, float, float, float]
RC, Use, Kind, WK = Road.RoadClass, Building.Use, PointOfInterest.Kind, Water.Kind

#: Layer → (model, attribute columns besides code and geometry).
LAYERS: dict[str, tuple[type, list[str]]] = {
    "road": (Road, ["name", "road_class", "oneway", "bridge", "speed_kmh"]),
    "building": (Building, ["name", "use", "height_m", "floors"]),
    "water": (Water, ["name", "kind"]),
    "poi": (PointOfInterest, ["name", "kind", "address"]),
}
#: OSM keys that can make a feature one of ours; everything else is dropped inside libosmium.
KEYS = (
    *("highway", "building", "natural", "waterway", "landuse"),
    *("amenity", "shop", "leisure", "man_made", "office"),
)

ROAD_CLASSES = {
    **dict.fromkeys(["motorway", "motorway_link", "trunk", "trunk_link"], RC.EXPRESSWAY),
    **dict.fromkeys(["primary", "primary_link"], RC.PRIMARY),
    **dict.fromkeys(["secondary", "secondary_link", "tertiary", "tertiary_link"], RC.SECONDARY),
    **dict.fromkeys(["residential", "unclassified", "living_street"], RC.BRANCH),
    "service": RC.SERVICE,
    **dict.fromkeys(["footway", "path", "pedestrian", "cycleway", "steps"], RC.FOOTWAY),
}
BUILDING_USES = {
    **dict.fromkeys(
        ["apartments", "residential", "house", "detached", "semidetached_house"], Use.RESIDENTIAL
    ),
    **dict.fromkeys(["terrace", "dormitory", "bungalow"], Use.RESIDENTIAL),
    **dict.fromkeys(["commercial", "retail", "supermarket", "kiosk"], Use.COMMERCIAL),
    "office": Use.OFFICE,
    **dict.fromkeys(["industrial", "warehouse", "factory", "manufacture"], Use.INDUSTRIAL),
    **dict.fromkeys(["school", "hospital", "public", "civic", "government"], Use.PUBLIC),
    **dict.fromkeys(
        ["kindergarten", "university", "college", "townhall", "fire_station"], Use.PUBLIC
    ),
}
AMENITY_KINDS = {
    "marketplace": Kind.MARKET,
    **dict.fromkeys(["school", "kindergarten", "university", "college"], Kind.SCHOOL),
    **dict.fromkeys(["hospital", "clinic"], Kind.HOSPITAL),
    **dict.fromkeys(["restaurant", "fast_food", "cafe", "food_court"], Kind.RESTAURANT),
    **dict.fromkeys(["townhall", "police", "courthouse", "fire_station"], Kind.GOVERNMENT),
}
#: ``water=*`` of a ``natural=water`` area → our kind (anything else is a lake).
WATER_KINDS = {
    **dict.fromkeys(["river", "stream", "rapids"], WK.RIVER),
    **dict.fromkeys(["canal", "ditch", "drain", "moat"], WK.CANAL),
    **dict.fromkeys(["pond", "basin", "fishpond", "wastewater", "reflecting_pool"], WK.POND),
}
#: Waterway lines kept as areas: kind and default width (m) when ``width`` is absent.
WATERWAY_LINES = {"river": (WK.RIVER, 10.0), "canal": (WK.CANAL, 5.0), "stream": (WK.RIVER, 3.0)}
#: Tags of a surveillance camera kept (as ``key=value; …``) in the point's address.
SURVEILLANCE_TAGS = (
    "surveillance",
    "surveillance:type",
    "surveillance:zone",
    "camera:type",
    "camera:mount",
    "camera:direction",
    "camera:angle",
    "direction",
    "height",
    "operator",
)
METRES_PER_LEVEL = 3.0
MPH_KMH = 1.609344
BATCH = 2000

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_SPEED = re.compile(rf"^{_NUMBER}\s*(km/h|kmh|kph|mph)?$", re.IGNORECASE)
_LENGTH = re.compile(rf"^{_NUMBER}\s*(m|metres?|meters?|ft|feet|')?$", re.IGNORECASE)
_FEET_INCHES = re.compile(r"^(\d+)'\s*(\d+(?:\.\d+)?)\"$")


class OsmImportError(Exception):
    """Bad input (a missing or unreadable file, a malformed or empty bbox, data the storage CRS
    cannot represent) or data the database refused. Nothing has been written."""


# --- Tags → our attributes (pure functions) -----------------------------------------------------


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def road_class_of(highway: str | None) -> str | None:
    """Our road class for a ``highway=*`` value; None for what we do not import (tracks,
    proposed or unfinished roads, bus stops…)."""
    return ROAD_CLASSES.get(highway or "")


def road_direction(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """(one-way, reversed): ``oneway=yes/1/true``; ``oneway=-1`` runs against the drawing, so
    the line is reversed; roundabouts and motorways are one-way unless ``oneway=no``."""
    value = (tags.get("oneway") or "").strip().lower()
    if value in ("-1", "reverse"):
        return True, True
    if value in ("yes", "1", "true"):
        return True, False
    if value in ("no", "0", "false"):
        return False, False
    implied = (
        tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway"
    )
    return implied, False


def parse_speed_kmh(value: str | None) -> float | None:
    """``maxspeed`` in km/h: ``"50"``, ``"50 km/h"``, ``"30 mph"`` (→ 48.3); None otherwise
    (``"none"``, ``"signals"``, zone codes such as ``"FI:urban"``)."""
    match = _SPEED.match((value or "").strip())
    if not match:
        return None
    speed = _number(match[1]) * (MPH_KMH if (match[2] or "").lower() == "mph" else 1.0)
    return round(speed, 1) if speed > 0 else None


def parse_length_m(value: str | None) -> float | None:
    """A length in metres (``height``, ``width``): ``"12"``, ``"12.5 m"``, ``"40 ft"``,
    ``"12'6\\""``; None for anything else or a non-positive value."""
    text = (value or "").strip()
    feet_inches = _FEET_INCHES.match(text)
    if feet_inches:
        return round((int(feet_inches[1]) * 12 + float(feet_inches[2])) * 0.0254, 2)
    match = _LENGTH.match(text)
    if not match:
        return None
    metres = _number(match[1]) * (0.3048 if (match[2] or "m").lower() in ("ft", "feet", "'") else 1)
    return round(metres, 2) if metres > 0 else None


def parse_levels(value: str | None) -> int | None:
    """``building:levels`` as a whole number of floors (a half storey counts as one)."""
    match = re.match(rf"^{_NUMBER}$", (value or "").strip())
    if not match:
        return None
    levels = math.ceil(_number(match[1]))
    return levels if 0 < levels < 300 else None


def building_use(value: str | None) -> str:
    return BUILDING_USES.get(value or "", Use.OTHER)


def water_kind(tags: Mapping[str, str]) -> str | None:
    """The kind of a water area, or None when the tags do not make it water."""
    if tags.get("natural") == "water":
        return WATER_KINDS.get(tags.get("water") or "", WK.LAKE)
    if tags.get("waterway") == "riverbank":
        return WK.RIVER
    return {"reservoir": WK.LAKE, "basin": WK.POND}.get(tags.get("landuse") or "")


def poi_kind(tags: Mapping[str, str]) -> str | None:
    """The kind of a point of interest, or None when the tags make it none of ours."""
    if tags.get("man_made") == "surveillance":
        return Kind.SURVEILLANCE
    if tags.get("highway") == "bus_stop":
        return Kind.BUS_STOP
    amenity = AMENITY_KINDS.get(tags.get("amenity") or "")
    if amenity:
        return amenity
    if tags.get("office") == "government":
        return Kind.GOVERNMENT
    if tags.get("shop") not in (None, "no", "vacant"):
        return Kind.SHOP
    if tags.get("leisure") == "park":
        return Kind.PARK
    return None


def feature_name(tags: Mapping[str, str]) -> str:
    """``name:zh`` first (our users read Chinese), then ``name``."""
    return (tags.get("name:zh") or tags.get("name") or "").strip()[:200]


def poi_address(tags: Mapping[str, str], kind: str) -> str:
    """``addr:full``, else street + number, postcode + city; a camera's tags follow it."""
    full = tags.get("addr:full") or ", ".join(
        filter(
            None,
            (
                " ".join(filter(None, (tags.get("addr:street"), tags.get("addr:housenumber")))),
                " ".join(filter(None, (tags.get("addr:postcode"), tags.get("addr:city")))),
            ),
        )
    )
    parts = [full] if full else []
    if kind == Kind.SURVEILLANCE:
        parts += [f"{key}={tags.get(key)}" for key in SURVEILLANCE_TAGS if tags.get(key)]
    return "; ".join(parts)[:300]


def split_at_junctions(refs: Sequence[int], node_use: Mapping[int, int]) -> list[tuple[int, int]]:
    """(first, last) positions of a way's segments: the way is cut at every inner node used more
    than once in the road network (by another way, or twice by this one)."""
    cuts = [i for i in range(1, len(refs) - 1) if node_use.get(refs[i], 0) > 1]
    bounds = [0, *cuts, len(refs) - 1]
    return list(itertools.pairwise(bounds))


def parse_bbox(text: str) -> Bbox:
    """``"minlon,minlat,maxlon,maxlat"`` (WGS-84 degrees) → a tuple; OsmImportError if malformed."""
    parts = [p.strip() for p in (text or "").split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise OsmImportError(
            f"--bbox {text!r}: expected four numbers minlon,minlat,maxlon,maxlat in degrees, "
            "e.g. 113.60,34.70,113.75,34.80"
        )
    minlon, minlat, maxlon, maxlat = values
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180):
        raise OsmImportError(f"--bbox {text!r}: longitudes must lie within -180…180")
    if not (-90 <= minlat <= 90 and -90 <= maxlat <= 90):
        swapped = " (are longitude and latitude swapped?)" if abs(minlon) <= 90 else ""
        raise OsmImportError(f"--bbox {text!r}: latitudes must lie within -90…90{swapped}")
    if minlon >= maxlon or minlat >= maxlat:
        raise OsmImportError(
            f"--bbox {text!r}: the minimum must be below the maximum "
            "(order: minlon,minlat,maxlon,maxlat)"
        )
    return minlon, minlat, maxlon, maxlat


# --- Reading ------------------------------------------------------------------------------------


@dataclass
class OsmLayers:
    """What ``osm_read`` found: per layer a GeoDataFrame in WGS-84 (columns: ``code``, the
    layer's model attributes, ``geometry``), the features skipped and the tag values ignored
    (counts per reason), the repaired geometries (code, reason, lon, lat) and the extent of every
    candidate feature."""

    frames: dict[str, gpd.GeoDataFrame]
    skipped: dict[str, Counter]
    ignored: dict[str, Counter]
    repaired: dict[str, list[tuple[str, str, float, float]]]
    extent: Bbox | None
    notes: list[str] = field(default_factory=list)


@dataclass
class _RoadWay:
    id: int
    refs: list[int]
    coords: list[tuple[float, float] | None]
    attrs: dict
    reverse: bool


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """The polygon parts of a geometry (make_valid may leave lines behind), or None."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return None if geom.is_empty else geom
    polygons = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polygons) if polygons else None


def _located_runs(coords: list) -> list[list[tuple[float, float]]]:
    """Runs of consecutive located nodes (a missing node breaks the line: joining across it
    would draw a road that is not there), each with at least two distinct points."""
    runs, run = [], []
    for c in [*coords, None]:
        if c is not None:
            run.append(c)
        elif run:
            if len(set(run)) > 1:
                runs.append(run)
            run = []
    return runs


def _reason(geom: BaseGeometry) -> str:
    """``is_valid_reason`` without its coordinates: "Self-intersection[26.9 60.5]" → its name."""
    return shapely.is_valid_reason(geom).split("[")[0]


class _Reader:
    def __init__(self, bbox: Bbox | None) -> None:
        self.box = shapely.box(*bbox) if bbox else None
        if self.box is not None:
            shapely.prepare(self.box)
        self.skipped = {layer: Counter() for layer in LAYERS}
        self.ignored = {layer: Counter() for layer in LAYERS}
        self.repaired: dict[str, list] = {layer: [] for layer in LAYERS}
        self.rows: dict[str, list[dict]] = {layer: [] for layer in LAYERS}
        self.node_use: Counter = Counter()
        self.road_ways: list[_RoadWay] = []
        self.water_lines: list[dict] = []
        # Multipolygon relations whose tags call for an area, and those libosmium assembled.
        self.relations: dict[int, list[str]] = {}
        self.assembled: set[int] = set()
        self.extent = [math.inf, math.inf, -math.inf, -math.inf]
        self.wkb = osmium.geom.WKBFactory()

    def _seen(self, minx: float, miny: float, maxx: float, maxy: float) -> bool:
        """Grow the extent; True when the bounds meet the bbox (or there is none)."""
        e = self.extent
        e[0], e[1], e[2], e[3] = min(e[0], minx), min(e[1], miny), max(e[2], maxx), max(e[3], maxy)
        box = self.box
        if box is None:
            return True
        bx0, by0, bx1, by1 = box.bounds
        return minx <= bx1 and maxx >= bx0 and miny <= by1 and maxy >= by0

    def read(self, path: Path, progress: IO | None) -> None:
        # A PBF whatever its name, unless it is named as OSM XML (handy for hand-made files).
        xml = path.name.endswith((".osm", ".osm.gz", ".osm.bz2"))
        osm_file = osmium.io.File(str(path), "" if xml else "pbf")
        processor = (
            osmium.FileProcessor(osm_file)
            .with_areas(osmium.filter.KeyFilter(*KEYS))
            .with_filter(osmium.filter.KeyFilter(*KEYS))
        )
        bar = tqdm(
            desc="reading", unit=" objects", file=progress, disable=progress is None, leave=False
        )
        with bar:
            for i, obj in enumerate(processor, start=1):
                if obj.is_node():
                    self.node(obj)
                elif obj.is_way():
                    self.way(obj)
                elif obj.is_area():
                    self.area(obj)
                elif obj.is_relation() and obj.tags.get("type") == "multipolygon":
                    layers = self.area_layers(obj.tags)
                    if layers:
                        self.relations[obj.id] = layers
                if i % 10_000 == 0:
                    bar.update(10_000)

    def area_layers(self, tags) -> list[str]:
        layers = ["building"] if tags.get("building") not in (None, "no") else []
        layers += ["water"] if water_kind(tags) else []
        return layers + (["poi"] if poi_kind(tags) else [])

    def node(self, obj) -> None:
        kind = poi_kind(obj.tags)
        if kind is None or not obj.location.valid():
            return
        lon, lat = obj.location.lon, obj.location.lat
        if not self._seen(lon, lat, lon, lat):
            self.skipped["poi"]["outside --bbox"] += 1
            return
        self.rows["poi"].append(
            {
                "code": f"osm-n{obj.id}",
                "name": feature_name(obj.tags),
                "kind": kind,
                "address": poi_address(obj.tags, kind),
                "geometry": Point(lon, lat),
            }
        )

    def way(self, obj) -> None:
        tags = obj.tags
        highway, waterway = tags.get("highway"), tags.get("waterway")
        if highway is not None:
            self.road_way(obj, tags, highway)
        elif waterway in WATERWAY_LINES and not obj.ends_have_same_id():
            self.waterway_line(obj, tags, waterway)
        layers = self.area_layers(tags)
        if layers:
            self.closed_way(obj, tags, layers)

    def closed_way(self, obj, tags, layers: list[str]) -> None:
        """A closed way tagged as an area. Its ring is built here rather than by libosmium,
        which drops a self-intersecting ring (a bow-tie) that make_valid can repair."""
        reason = None
        if not obj.ends_have_same_id():
            reason = "way tagged as an area that is not a closed ring"
        else:
            coords = self._nodes(obj)[1]
            if None in coords:
                reason = "ring with nodes missing from the extract (cut by its edge)"
            elif len(set(coords)) < 3:
                reason = "ring with fewer than three distinct nodes"
        if reason:
            for layer in layers:
                self.skipped[layer][reason] += 1
            return
        self.add_area(f"osm-w{obj.id}", tags, layers, shapely.Polygon(coords))

    @staticmethod
    def _nodes(obj) -> tuple[list[int], list[tuple[float, float] | None]]:
        refs, coords = [], []
        for node in obj.nodes:
            location = node.location
            if refs and node.ref == refs[-1]:
                continue  # the same node twice in a row: a mapping slip
            refs.append(node.ref)
            coords.append((location.lon, location.lat) if location.valid() else None)
        return refs, coords

    def road_way(self, obj, tags, highway: str) -> None:
        road_class = road_class_of(highway)
        if road_class is None:
            self.skipped["road"][f"way with highway={highway} (not a road class we import)"] += 1
            return
        if tags.get("area") == "yes":
            self.skipped["road"]["way with area=yes (a square, not a road line)"] += 1
            return
        refs, coords = self._nodes(obj)
        self.node_use.update(refs)  # over every road of the file, so codes never depend on --bbox
        located = [c for c in coords if c is not None]
        if not located:
            self.skipped["road"]["way whose nodes are all missing from the extract"] += 1
            return
        xs, ys = zip(*located, strict=True)
        if not self._seen(min(xs), min(ys), max(xs), max(ys)):
            self.skipped["road"]["way outside --bbox"] += 1
            return
        oneway, reverse = road_direction(tags)
        maxspeed = tags.get("maxspeed")
        speed = parse_speed_kmh(maxspeed)
        if maxspeed and speed is None:
            self.ignored["road"][f"maxspeed={maxspeed} (not a number)"] += 1
        attrs = {
            "name": feature_name(tags),
            "road_class": road_class,
            "oneway": oneway,
            "bridge": tags.get("bridge") not in (None, "no"),
            "speed_kmh": speed,
        }
        self.road_ways.append(_RoadWay(obj.id, refs, coords, attrs, reverse))

    def waterway_line(self, obj, tags, waterway: str) -> None:
        kind, default_width = WATERWAY_LINES[waterway]
        runs = _located_runs(self._nodes(obj)[1])
        if not runs:
            self.skipped["water"]["waterway line with fewer than two located nodes"] += 1
            return
        line = LineString(runs[0]) if len(runs) == 1 else shapely.MultiLineString(runs)
        if not self._seen(*line.bounds):
            self.skipped["water"]["waterway line outside --bbox"] += 1
            return
        width = parse_length_m(tags.get("width"))
        if tags.get("width") and width is None:
            self.ignored["water"][f"width={tags.get('width')} (not a length)"] += 1
        self.water_lines.append(
            {
                "code": f"osm-w{obj.id}",
                "name": feature_name(tags),
                "kind": kind,
                "width_m": width or default_width,
                "geometry": line,
            }
        )

    def area(self, obj) -> None:
        """A multipolygon relation assembled by libosmium (closed ways are done in closed_way)."""
        if obj.from_way():
            return
        tags = obj.tags
        layers = self.area_layers(tags)
        if not layers:
            return
        try:
            geom = shapely.from_wkb(self.wkb.create_multipolygon(obj))
        except RuntimeError:
            return  # counted as not assembled
        self.assembled.add(obj.orig_id())
        self.add_area(f"osm-r{obj.orig_id()}", tags, layers, geom)

    def add_area(self, code: str, tags, layers: list[str], geom: BaseGeometry) -> None:
        if not self._seen(*geom.bounds):
            for layer in layers:
                self.skipped[layer]["area outside --bbox"] += 1
            return
        if not geom.is_valid:
            reason, point = _reason(geom), geom.representative_point()
            repaired = _polygonal(shapely.make_valid(geom))
            for layer in layers:
                if layer != "poi":
                    self.repaired[layer].append((code, reason, point.x, point.y))
            if repaired is None:
                for layer in layers:
                    self.skipped[layer]["area with no surface left after repair"] += 1
                return
            geom = repaired
        name = feature_name(tags)
        if "building" in layers:
            height, floors = (
                parse_length_m(tags.get("height")),
                parse_levels(tags.get("building:levels")),
            )
            self.rows["building"].append(
                {
                    "code": code,
                    "name": name,
                    "use": building_use(tags.get("building")),
                    "height_m": height or (floors * METRES_PER_LEVEL if floors else None),
                    "floors": floors,
                    "geometry": geom,
                }
            )
        if "water" in layers:
            self.add_water(code, name, water_kind(tags), geom)
        if "poi" in layers:
            kind = poi_kind(tags)
            point = geom.point_on_surface()
            if self.box is not None and not self.box.covers(point):
                self.skipped["poi"]["area whose inner point lies outside --bbox"] += 1
                return
            self.rows["poi"].append(
                {
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "address": poi_address(tags, kind),
                    "geometry": point,
                }
            )

    def add_water(self, code: str, name: str, kind: str, geom: BaseGeometry) -> None:
        if self.box is not None and not self.box.covers(geom):
            geom = _polygonal(shapely.intersection(geom, self.box))
            if geom is None:
                self.skipped["water"]["area outside --bbox"] += 1
                return
        self.rows["water"].append({"code": code, "name": name, "kind": kind, "geometry": geom})

    # --- after the file has been read -----------------------------------------------------------
    def road_segments(self) -> None:
        for way in self.road_ways:
            for index, (first, last) in enumerate(split_at_junctions(way.refs, self.node_use)):
                runs = _located_runs(way.coords[first : last + 1])
                if not runs:
                    reason = "segment with fewer than two located nodes (cut by the extract's edge)"
                    self.skipped["road"][reason] += 1
                    continue
                if way.reverse:
                    runs = [run[::-1] for run in reversed(runs)]
                parts = [part for run in runs for part in self.clip_line(LineString(run))]
                if not parts:
                    self.skipped["road"]["segment outside --bbox"] += 1
                code = f"osm-w{way.id}-{index}"
                for k, part in enumerate(parts):
                    part_code = code if len(parts) == 1 else f"{code}.{k}"
                    self.rows["road"].append({"code": part_code, **way.attrs, "geometry": part})

    def clip_line(self, line: LineString) -> list[LineString]:
        """The parts of a line inside the bbox, each drawn in the line's own direction (a
        one-way street must keep it) and ordered along the line."""
        if self.box is None or self.box.covers(line):
            return [line]
        parts = [
            p
            for p in shapely.get_parts(shapely.intersection(line, self.box))
            if p.geom_type == "LineString" and p.length > 0
        ]
        oriented = []
        for part in parts:
            start, end = line.project(Point(part.coords[0])), line.project(Point(part.coords[-1]))
            oriented.append((min(start, end), part.reverse() if end < start else part))
        return [part for _, part in sorted(oriented, key=lambda item: item[0])]

    def buffered_waterways(self) -> None:
        """River and canal lines → areas, buffered by half their width in a local UTM zone."""
        if not self.water_lines:
            return
        lines = gpd.GeoDataFrame(self.water_lines, geometry="geometry", crs=4326)
        metric = lines.to_crs(lines.estimate_utm_crs())
        areas = metric.buffer(metric["width_m"] / 2).to_crs(4326)
        for row, geom in zip(self.water_lines, areas.values, strict=True):
            self.add_water(row["code"], row["name"], row["kind"], geom)

    def layers(self) -> OsmLayers:
        self.road_segments()
        self.buffered_waterways()
        for relation_id, layers in self.relations.items():
            if relation_id not in self.assembled:
                for layer in layers:
                    reason = "multipolygon relation not assembled (members missing, broken rings)"
                    self.skipped[layer][reason] += 1
        frames = {}
        for layer, (_, columns) in LAYERS.items():
            rows = self.rows[layer]
            # Keep the first of a code (e.g. a closed way both a water area and a river line).
            unique = list({row["code"]: row for row in reversed(rows)}.values())[::-1]
            if len(unique) < len(rows):
                self.skipped[layer]["second feature with the same OSM id"] += len(rows) - len(
                    unique
                )
            rows = unique
            frames[layer] = gpd.GeoDataFrame(
                pd.DataFrame.from_records(rows, columns=["code", *columns]),
                geometry=gpd.GeoSeries([row["geometry"] for row in rows], crs=4326),
            )
        extent = tuple(self.extent) if math.isfinite(self.extent[0]) else None
        cameras = int((frames["poi"]["kind"] == Kind.SURVEILLANCE).sum())
        notes = [
            f"{cameras} surveillance camera(s) (man_made=surveillance) became points of kind "
            f"surveillance; their tags {', '.join(SURVEILLANCE_TAGS)} are kept in the address as "
            "key=value (other tags are not kept)"
            if cameras
            else "the extract has no surveillance cameras (man_made=surveillance)"
        ]
        return OsmLayers(frames, self.skipped, self.ignored, self.repaired, extent, notes)


def osm_read(
    path: str | Path, *, bbox: Bbox | None = None, progress: IO | None = None
) -> OsmLayers:
    """Read an OSM extract (``.osm.pbf``; ``.osm`` XML too) into per-layer GeoDataFrames in
    WGS-84, keeping what meets ``bbox`` (lon/lat degrees: roads and water are cut at its edges,
    buildings kept whole, points of interest kept when inside). ``progress``: a stream for a
    tqdm bar, or None. Raises OsmImportError when the file is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise OsmImportError(f"{path}: no such file")
    reader = _Reader(bbox)
    try:
        reader.read(path, progress)
    except RuntimeError as exc:  # libosmium: "PBF error: invalid BlobHeader size", "unexpected EOF"
        raise OsmImportError(f"{path} is not a readable OpenStreetMap PBF file ({exc})") from None
    return reader.layers()


# --- Checking, projecting, writing --------------------------------------------------------------


def _storage_crs() -> str:
    """The storage CRS for messages: ``EPSG:4547 (CGCS2000 / …: lon 112.5…115.5, lat …)``."""
    srid = settings.GRIDMAP_SRID
    west, south, east, north = area_of_use(srid)
    return (
        f"EPSG:{srid} ({pyproj.CRS.from_epsg(srid).name}: lon {west:g}…{east:g}, "
        f"lat {south:g}…{north:g})"
    )


def _domain_problem(layers: OsmLayers) -> str | None:
    """Why the storage CRS cannot hold these features (naming one of them), or None."""
    frames = [frame for frame in layers.frames.values() if not frame.empty]
    minx, miny, _, _ = np.min([f.total_bounds for f in frames], axis=0)
    _, _, maxx, maxy = np.max([f.total_bounds for f in frames], axis=0)
    if in_storage_crs_domain(minx, miny) and in_storage_crs_domain(maxx, maxy):
        return None  # the area of use is a box: all corners inside, everything inside
    outside, example, total = 0, None, 0
    for frame in frames:
        total += len(frame)
        for code, (minx, miny, maxx, maxy) in zip(
            frame["code"], frame.geometry.bounds.to_numpy(), strict=True
        ):
            if not (in_storage_crs_domain(minx, miny) and in_storage_crs_domain(maxx, maxy)):
                outside += 1
                example = example or (code, minx, miny)
    if not outside:
        return None
    code, lon, lat = example
    return (
        f"{outside} of the {total} features lie outside the area of use of the storage CRS "
        f"{_storage_crs()}, which cannot represent them — e.g. {code} at lon {lon:.5f}, "
        f"lat {lat:.5f}. Import a --bbox inside that area, or into a database whose "
        "GRIDMAP_SRID suits this extract."
    )


def _to_storage(
    frame: gpd.GeoDataFrame, layer: str, report: ImportReport, skipped: Counter
) -> gpd.GeoDataFrame:
    """Project to the storage CRS, where the database checks validity: repair an area that the
    projection made invalid (rare: nearly touching rings), skip a line or point; Polygons →
    MultiPolygons."""
    frame = frame.to_crs(settings.GRIDMAP_SRID)
    areas = layer in ("building", "water")
    geoms, keep = list(frame.geometry.values), np.ones(len(frame), dtype=bool)
    for i in np.flatnonzero(~shapely.is_valid(frame.geometry.values)):
        code, reason = frame["code"].iat[i], _reason(geoms[i])
        fixed = _polygonal(shapely.make_valid(geoms[i])) if areas else None
        if fixed is None:
            keep[i] = False
            skipped[f"invalid after projecting to the storage CRS ({reason})"] += 1
        else:
            geoms[i] = fixed
            report.warning(f"repaired after projecting to the storage CRS ({reason})", code=code)
    if areas:
        geoms = [g if g.geom_type == "MultiPolygon" else shapely.multipolygons([g]) for g in geoms]
    frame["geometry"] = geoms
    return frame[keep]


def _native(column: str, value):
    """A column value as the model wants it: None for NaN (pandas's missing float), whole floors."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if column == "floors" else value


def _write(layer: str, frame: gpd.GeoDataFrame, report: ImportReport, progress) -> None:
    model, columns = LAYERS[layer]
    srid = settings.GRIDMAP_SRID
    records = [
        {k: _native(k, v) for k, v in record.items()}
        for record in frame[columns].to_dict("records")
    ]
    codes = list(frame["code"])
    wkbs = shapely.to_wkb(frame.geometry.values)
    bar = tqdm(
        total=len(codes),
        desc=f"writing {layer}",
        unit=" rows",
        file=progress,
        disable=progress is None,
        leave=False,
    )
    with bar:
        for start in range(0, len(codes), BATCH):
            chunk = slice(start, start + BATCH)
            existing = set(
                model.objects.filter(code__in=codes[chunk]).values_list("code", flat=True)
            )
            objects = [
                model(code=code, geom=GEOSGeometry(memoryview(wkb), srid=srid), **attrs)
                for code, wkb, attrs in zip(codes[chunk], wkbs[chunk], records[chunk], strict=True)
            ]
            model.objects.bulk_create(
                objects,
                update_conflicts=True,
                unique_fields=["code"],
                update_fields=[*columns, "geom"],
            )
            report.updated += len(existing)
            report.created += len(objects) - len(existing)
            bar.update(len(objects))
    report.features = len(codes)


@dataclass
class OsmImportResult:
    """Per layer: the import report (created / updated counts; repaired geometries as warnings;
    skipped features and ignored tag values as notes) and the skipped features by reason."""

    reports: dict[str, ImportReport]
    skipped: dict[str, Counter]


def osm_import(
    path: str | Path, *, bbox: Bbox | None = None, progress: IO | None = None
) -> OsmImportResult:
    """Import roads, buildings, water and points of interest from an OSM extract into the
    storage CRS (``GRIDMAP_SRID``): all layers in one transaction, upserting by code.

    ``bbox`` (WGS-84 lon/lat degrees) limits the import; ``progress`` is a stream for tqdm bars
    (None: no bars). Raises OsmImportError, with nothing written, on bad input or when the
    storage CRS cannot represent the data.
    """
    path = Path(path)
    if bbox is not None and not (
        in_storage_crs_domain(bbox[0], bbox[1]) and in_storage_crs_domain(bbox[2], bbox[3])
    ):
        raise OsmImportError(
            f"the --bbox {','.join(f'{v:g}' for v in bbox)} reaches outside the area of use of "
            f"the storage CRS {_storage_crs()}, which cannot represent it"
        )
    layers = osm_read(path, bbox=bbox, progress=progress)
    if all(frame.empty for frame in layers.frames.values()):
        extent = layers.extent
        where = (
            f" (the file's features lie within lon {extent[0]:.5f}…{extent[2]:.5f}, "
            f"lat {extent[1]:.5f}…{extent[3]:.5f})"
            if extent
            else ""
        )
        if bbox is not None:
            raise OsmImportError(
                f"the --bbox {','.join(f'{v:g}' for v in bbox)} contains none of the file's "
                f"roads, buildings, water or points of interest{where}"
            )
        raise OsmImportError(f"{path} holds no roads, buildings, water or points of interest")
    problem = _domain_problem(layers)
    if problem:
        raise OsmImportError(problem)

    reports = {layer: ImportReport(source=path.name, level=layer) for layer in LAYERS}
    frames = {
        layer: _to_storage(frame, layer, reports[layer], layers.skipped[layer])
        for layer, frame in layers.frames.items()
    }
    for layer, report in reports.items():
        for code, reason, lon, lat in layers.repaired[layer]:
            report.warning(f"repaired invalid geometry ({reason})", code=code, lon=lon, lat=lat)
        for reason, n in sorted(layers.skipped[layer].items()):
            report.notes.append(f"skipped {n}: {reason}")
        for value, n in sorted(layers.ignored[layer].items()):
            report.notes.append(f"ignored {n} tag value(s): {value}")
    reports["poi"].notes.extend(layers.notes)
    try:
        with transaction.atomic():
            for layer, frame in frames.items():
                _write(layer, frame, reports[layer], progress)
    except (DataError, IntegrityError) as exc:
        raise OsmImportError(f"the database refused the data (nothing written): {exc}") from exc
    for report in reports.values():
        report.written = True
    return OsmImportResult(reports, layers.skipped)
