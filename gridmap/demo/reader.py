"""Read and check the demo district's files before anything is written.

Every problem raises ``DemoDataError`` naming the file and the feature's code: unreadable JSON,
missing properties, unknown values, geometry of the wrong type, empty, invalid (before or after
projection), out of range (swapped longitude and latitude) or outside the storage CRS's area
of use, codes that do not extend their parent's, children that do not tile their parent.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.contrib.gis.gdal import CoordTransform, GDALException, OGRGeometry, SpatialReference
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from tqdm import tqdm

from gridmap.crs import in_storage_crs_domain
from gridmap.models import (
    WGS84,
    Building,
    Component,
    PointOfInterest,
    ResponsibilityZone,
    Road,
    Team,
    UnitGrid,
    User,
    Water,
    code_length,
)

#: Grids must cover their community's area to within this fraction (gaps or overlaps).
TILING_TOLERANCE = 0.001


class DemoDataError(Exception):
    """A demo file is missing, malformed or inconsistent; the message says which and where."""


@dataclass
class DemoFeature:
    layer: str
    code: str
    props: dict
    geom: GEOSGeometry  # in the storage CRS

    @property
    def where(self) -> str:
        return f"{self.layer}.geojson: feature {self.code}"


@dataclass
class DemoFiles:
    layers: dict[str, list[DemoFeature]] = field(default_factory=dict)
    organisation: dict = field(default_factory=dict)


#: Layer → expected geometry ("area" is Polygon or MultiPolygon, stored as MultiPolygon).
GEOMETRY = {
    "district": "area",
    "subdistricts": "area",
    "communities": "area",
    "grids": "area",
    "zones": "area",
    "roads": "LineString",
    "buildings": "area",
    "water": "area",
    "pois": "Point",
    "construction_sites": "area",
    "components": "Point",
    "cameras": "Point",
}

#: Layer → properties with a fixed set of values.
CHOICES = {
    "grids": {"land_use": UnitGrid.LandUse.values},
    "zones": {"kind": ResponsibilityZone.Kind.values},
    "roads": {"road_class": Road.RoadClass.values},
    "buildings": {"use": Building.Use.values},
    "water": {"kind": Water.Kind.values},
    "pois": {"kind": PointOfInterest.Kind.values},
    "components": {"condition": Component.Condition.values},
}


class _Reader:
    def __init__(self, directory: Path, progress: bool, stream: IO) -> None:
        self.directory = directory
        self.progress = progress
        self.stream = stream
        self.srid = settings.GRIDMAP_SRID
        self.to_storage = CoordTransform(SpatialReference(WGS84), SpatialReference(self.srid))

    def _load_json(self, name: str):
        path = self.directory / name
        if not path.is_file():
            raise DemoDataError(f"{name} is missing from {self.directory}")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DemoDataError(f"{name} is not valid JSON: {exc}") from exc

    def layer(self, layer: str) -> list[DemoFeature]:
        name = f"{layer}.geojson"
        data = self._load_json(name)
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            raise DemoDataError(f"{name}: expected a GeoJSON FeatureCollection")
        raw_features = data.get("features")
        if not isinstance(raw_features, list):
            raise DemoDataError(f"{name}: 'features' must be a list")
        result, seen = [], set()
        for i, raw in enumerate(
            tqdm(
                raw_features,
                desc=f"{layer:<18}",
                unit=" features",
                disable=not self.progress,
                file=self.stream,
                leave=False,
            )
        ):
            props = raw.get("properties") if isinstance(raw, dict) else None
            if not isinstance(props, dict) or not isinstance(props.get("code"), str):
                raise DemoDataError(f"{name}: feature #{i + 1} has no 'code' property")
            code = props["code"]
            where = f"{name}: feature {code}"
            if not code:
                raise DemoDataError(f"{name}: feature #{i + 1} has an empty code")
            if code in seen:
                raise DemoDataError(f"{where}: the code appears twice")
            seen.add(code)
            if not isinstance(props.get("name"), str):
                raise DemoDataError(f"{where}: 'name' must be a string")
            for key, allowed in CHOICES.get(layer, {}).items():
                if props.get(key) not in allowed:
                    raise DemoDataError(
                        f"{where}: {key} {props.get(key)!r} is not one of {', '.join(allowed)}"
                    )
            geom = self.geometry(raw.get("geometry"), GEOMETRY[layer], where)
            result.append(DemoFeature(layer=layer, code=code, props=props, geom=geom))
        return result

    def geometry(self, raw, expected: str, where: str) -> GEOSGeometry:
        """WGS-84 GeoJSON geometry → GEOS in the storage CRS, checked on the way."""
        if not isinstance(raw, dict) or "type" not in raw or "coordinates" not in raw:
            raise DemoDataError(f"{where}: missing or malformed geometry")
        try:
            ogr = OGRGeometry(json.dumps(raw), srs=WGS84)
        except (ValueError, TypeError, GDALException) as exc:
            raise DemoDataError(f"{where}: unreadable geometry: {exc}") from exc
        allowed = ("Polygon", "MultiPolygon") if expected == "area" else (expected,)
        if ogr.geom_type.name not in allowed:
            raise DemoDataError(f"{where}: expected {' or '.join(allowed)}, got {raw['type']}")
        if ogr.empty:
            raise DemoDataError(f"{where}: empty geometry")
        xmin, ymin, xmax, ymax = ogr.extent
        if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
            raise DemoDataError(
                f"{where}: coordinates out of range ({xmin}, {ymin}, {xmax}, {ymax}); "
                "GeoJSON is (longitude, latitude) — are they swapped?"
            )
        if not (in_storage_crs_domain(xmin, ymin) and in_storage_crs_domain(xmax, ymax)):
            raise DemoDataError(
                f"{where}: lies outside the storage CRS's area of use (EPSG:{self.srid})"
            )
        wgs84 = ogr.geos
        if not wgs84.valid:
            raise DemoDataError(f"{where}: invalid geometry: {wgs84.valid_reason}")
        ogr.transform(self.to_storage)
        geom = ogr.geos
        if not geom.valid:
            raise DemoDataError(
                f"{where}: invalid once projected to EPSG:{self.srid}: {geom.valid_reason}"
            )
        if expected == "area" and geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=self.srid)
        return geom

    def point(self, raw, where: str) -> GEOSGeometry:
        if not (isinstance(raw, list) and len(raw) == 2 and all(_is_number(v) for v in raw)):
            raise DemoDataError(f"{where}: expected [longitude, latitude], got {raw!r}")
        return self.geometry({"type": "Point", "coordinates": raw}, "Point", where)

    def organisation(self) -> dict:
        data = self._load_json("organisation.json")
        if not isinstance(data, dict):
            raise DemoDataError("organisation.json: expected an object")
        for key, natural in (("departments", "code"), ("teams", "code"), ("users", "username")):
            items = data.get(key)
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise DemoDataError(f"organisation.json: '{key}' must be a list of objects")
            seen = set()
            for item in items:
                value = item.get(natural)
                if not isinstance(value, str) or not value:
                    raise DemoDataError(f"organisation.json: an item of '{key}' has no {natural}")
                if value in seen:
                    raise DemoDataError(f"organisation.json: {key} {value} appears twice")
                seen.add(value)
        for team in data["teams"]:
            where = f"organisation.json: team {team['code']}"
            if team.get("kind") not in Team.Kind.values:
                raise DemoDataError(f"{where}: kind {team.get('kind')!r} is not a team kind")
            if team.get("status", "available") not in Team.Status.values:
                raise DemoDataError(f"{where}: status {team.get('status')!r} is not a status")
            team["base_geom"] = self.point(team.get("base"), f"{where} base")
            team["position_geom"] = self.point(team.get("position"), f"{where} position")
        for user in data["users"]:
            if user.get("role") not in User.Role.values:
                raise DemoDataError(
                    f"organisation.json: user {user['username']}: role {user.get('role')!r} "
                    "is not a role"
                )
        return data


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def read_demo_files(directory: Path, *, progress: bool, stream: IO) -> DemoFiles:
    """Read every layer and organisation.json from ``directory``, checked, geometry in the
    storage CRS."""
    reader = _Reader(directory, progress, stream)
    files = DemoFiles()
    for layer in GEOMETRY:
        files.layers[layer] = reader.layer(layer)
    files.organisation = reader.organisation()
    _check_codes(files)
    _check_tiling(files)
    return files


def _check_codes(files: DemoFiles) -> None:
    """Codes extend their parent's code with the configured number of digits."""
    layout = "+".join(map(str, settings.GRIDMAP_GRID_CODE_LAYOUT))
    for layer, level, parent_key in (
        ("district", 0, None),
        ("subdistricts", 1, "district"),
        ("communities", 2, "subdistrict"),
        ("grids", 3, "community"),
    ):
        for f in files.layers[layer]:
            n = code_length(level)
            if not (f.code.isdigit() and len(f.code) == n):
                raise DemoDataError(
                    f"{layer}.geojson: feature {f.code}: a code at this level has {n} digits "
                    f"(layout {layout})"
                )
            if parent_key and not f.code.startswith(str(f.props.get(parent_key))):
                raise DemoDataError(
                    f"{layer}.geojson: feature {f.code}: the code must start with its "
                    f"{parent_key}'s code {f.props.get(parent_key)!r}"
                )


def _check_tiling(files: DemoFiles) -> None:
    """Each area's children cover it: their areas add up to its area (no gap, no overlap)."""
    for layer, parents, parent_key in (
        ("subdistricts", "district", "district"),
        ("communities", "subdistricts", "subdistrict"),
        ("grids", "communities", "community"),
    ):
        areas: dict[str, float] = {}
        for f in files.layers[layer]:
            key = f.props.get(parent_key)
            areas[key] = areas.get(key, 0.0) + f.geom.area
        for parent in files.layers[parents]:
            covered = areas.get(parent.code, 0.0)
            share = covered / parent.geom.area
            if abs(share - 1.0) > TILING_TOLERANCE:
                raise DemoDataError(
                    f"{layer}.geojson: the {layer} of {parent.code} cover {share:.2%} of its area "
                    "(they must tile it: a gap, an overlap or a missing piece)"
                )
