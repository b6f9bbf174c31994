"""Import a district's data: read, check everything, then write all-or-nothing.

One core used by ``manage.py import_district``, ``import_components`` and the admin's import page.
The checks run on the whole file before anything is written, so that one run reports every
problem (with the feature it concerns and where it is) instead of the first:

- the file's rows: coordinates that are not numbers, features without geometry;
- geometry: invalid rings and self-intersections (``repair`` applies ``make_valid`` and says what
  changed), the wrong kind (a line where polygons are expected), points the storage CRS cannot
  represent, data outside the expected area — and if it would fit with longitude and latitude
  swapped, it says so;
- codes: missing, duplicated in the file, not following the code layout, not extending the
  parent's code; names missing where the level needs one; attribute values of the wrong type;
- nesting: each child within its parent (tolerance in metres), overlaps between siblings (an
  error), gaps between them (a warning: a partial import is allowed, and said).

Then one transaction upserts by code (``replace`` also deletes what the file no longer has), runs
the nesting check in SQL on the result (a changed community must still hold its grids), and
rolls everything back on any problem or in a dry run.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyproj
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from shapely.geometry.base import BaseGeometry

from ..crs import area_of_use
from ..models import STORAGE_SRID, Community, District, code_length
from ..selectors import nesting_violations
from .levels import AREA, LEVELS, LINE, POINT, ConversionError, Level
from .reader import ReadError, read_source
from .report import ImportReport

#: Overlaps and gaps between siblings count only where they are wider than this (m): thinner
#: slivers come from coordinates rounded in the file (1e-7° is about a centimetre), and over a
#: community's whole boundary such slivers add up to tens of square metres.
SLIVER_WIDTH_M = 0.05
#: … and only when what is left after removing the slivers is larger than this (m²).
OVERLAP_TOLERANCE_M2 = 1.0
GAP_TOLERANCE_M2 = 1.0
#: How far outside the district (m) basemap features may still be useful (roads leading out).
BASEMAP_MARGIN_M = 1000.0


class ImportAborted(Exception):
    """Raised inside the write transaction to roll it back."""


@dataclass
class ImportOptions:
    level: str
    layer: str | None = None
    srs: str | int | None = None
    code_field: str = "code"
    name_field: str = "name"
    parent_field: str | None = None
    kind: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    lon_field: str | None = None
    lat_field: str | None = None
    dry_run: bool = False
    replace: bool = False
    repair: bool = False
    tolerance_m: float | None = None


@dataclass
class Record:
    fid: str
    code: str
    name: str
    geom: BaseGeometry
    attrs: dict = field(default_factory=dict)
    parent_code: str | None = None
    parent_id: int | None = None


class _Locator:
    """WGS-84 positions for messages (storage CRS → lon/lat)."""

    def __init__(self) -> None:
        self._to_wgs84 = pyproj.Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True)

    def where(self, geom: BaseGeometry | None) -> dict:
        if geom is None or geom.is_empty:
            return {}
        point = geom.representative_point() if geom.geom_type != "Point" else geom
        lon, lat = self._to_wgs84.transform(point.x, point.y)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return {}
        return {"lon": lon, "lat": lat}


def _clean_code(value) -> str:
    """Codes as text; a number read as a float (410171.0) loses its ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return "" if text.lower() == "nan" else text


_FAMILY = {
    "Polygon": AREA,
    "MultiPolygon": AREA,
    "LineString": LINE,
    "MultiLineString": LINE,
    "Point": POINT,
    "MultiPoint": POINT,
}


def _validity(geom: BaseGeometry) -> tuple[str, BaseGeometry]:
    """Why a geometry is invalid, and where: GEOS says "Self-intersection[x y]" in storage
    coordinates; the place goes into the problem's lon/lat instead."""
    reason = shapely.is_valid_reason(geom)
    text, _, rest = reason.partition("[")
    try:
        x, y = (float(v) for v in rest.rstrip("]").split()[:2])
        return text.strip(), shapely.Point(x, y)
    except ValueError:
        return reason, geom


def _significant(area: BaseGeometry) -> float:
    """Area (m²) of ``area`` that is wider than a sliver."""
    if area.is_empty:
        return 0.0
    return shapely.buffer(area, -SLIVER_WIDTH_M / 2).area


def _to_geos(geom: BaseGeometry) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=STORAGE_SRID)


def _coerce(geom: BaseGeometry, kind: str) -> tuple[BaseGeometry | None, str | None]:
    """Turn a geometry into the kind the level stores: (geometry, warning) or (None, error)."""
    gtype = geom.geom_type
    if kind == AREA:
        if gtype == "Polygon":
            return shapely.multipolygons([geom]), None
        if gtype == "MultiPolygon":
            return geom, None
        if gtype == "GeometryCollection":
            polys = [
                g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")
            ]
            if polys:
                merged = shapely.union_all(polys)
                merged = (
                    merged
                    if merged.geom_type == "MultiPolygon"
                    else shapely.multipolygons([merged])
                )
                return merged, "the geometry collection's non-polygon parts were dropped"
        return None, f"expected a polygon, got a {gtype}"
    if kind == LINE:
        if gtype == "LineString":
            return geom, None
        if gtype == "MultiLineString":
            merged = shapely.line_merge(geom)
            if merged.geom_type == "LineString":
                return merged, None
            return merged, None  # split into parts by the caller
        return None, f"expected a line, got a {gtype}"
    if gtype == "Point":
        return geom, None
    if gtype == "MultiPoint" and len(geom.geoms) == 1:
        return geom.geoms[0], None
    if gtype in ("Polygon", "MultiPolygon"):
        return geom.representative_point(), "a polygon was given; its inner point is used"
    return None, f"expected a point, got a {gtype}"


class _Importer:
    def __init__(self, path: Path, options: ImportOptions, progress: Callable | None) -> None:
        self.path = Path(path)
        self.options = options
        self.level: Level = LEVELS[options.level]
        self.report = ImportReport(
            source=self.path.name, level=options.level, dry_run=options.dry_run
        )
        self.locator = _Locator()
        self.tolerance = (
            settings.GRIDMAP_NESTING_TOLERANCE_M
            if options.tolerance_m is None
            else options.tolerance_m
        )
        self.progress = progress or (lambda iterable, **kw: iterable)
        self.records: list[Record] = []

    # --- options and file -------------------------------------------------------------------
    def check_options(self) -> bool:
        level, opts, report = self.level, self.options, self.report
        unknown = sorted(set(opts.fields) - set(level.fields))
        if unknown:
            allowed = ", ".join(sorted(level.fields)) or "none"
            report.error(
                f"--field {', '.join(unknown)}: not an attribute of level {level.name} "
                f"(importable: {allowed})"
            )
        if level.name == "zone" and not opts.kind and "kind" not in opts.fields:
            report.error(
                "zones need a kind: --kind frontage|subcontract|jurisdiction|patrol "
                "or --field kind=COLUMN"
            )
        if opts.kind:
            if level.name != "zone":
                report.error("--kind only applies to --level zone")
            else:
                try:
                    opts.kind = level.fields["kind"](opts.kind)
                except ConversionError as exc:
                    report.error(f"--kind: {exc}")
        if opts.parent_field and not level.parent:
            report.error(f"--parent-field: level {level.name} has no parent level")
        return report.ok

    def read(self) -> bool:
        opts = self.options
        try:
            source = read_source(
                self.path,
                layer=opts.layer,
                srs=opts.srs,
                lon_field=opts.lon_field,
                lat_field=opts.lat_field,
            )
        except ReadError as exc:
            self.report.error(str(exc))
            return False
        self.report.notes.append(
            f"read {len(source.frame) + len(source.bad_rows)} feature(s) "
            f"from {self.path.name} ({source.source_crs})"
        )
        for fid, reason in source.bad_rows:
            self.report.error(reason, fid=fid)
        frame = source.frame
        columns = [c for c in frame.columns if c not in ("geometry", "_fid")]
        by_lower = {str(c).lower(): c for c in columns}
        # "name" also finds "Name" (KML) or "NAME" (Shapefile) when there is no exact match.
        for attr in ("code_field", "name_field", "parent_field"):
            wanted = getattr(opts, attr)
            if wanted and wanted not in columns and wanted.lower() in by_lower:
                setattr(opts, attr, by_lower[wanted.lower()])
        for attr, names in self.level.aliases.items():
            taken = set(opts.fields.values()) | {opts.code_field, opts.name_field}
            column = next(
                (
                    by_lower[n.lower()]
                    for n in names
                    if by_lower.get(n.lower()) not in (None, *taken)
                ),
                None,
            )
            if attr not in opts.fields and column is not None:
                opts.fields[attr] = column
                self.report.notes.append(f"column {column!r} read as {attr}")
        wanted = {
            "--code-field": opts.code_field
            if self.level.code_required or opts.code_field in columns
            else None,
            "--name-field": opts.name_field if self.level.name_required else None,
            "--parent-field": opts.parent_field,
            **{f"--field {k}": v for k, v in opts.fields.items()},
        }
        for option, column in wanted.items():
            if column and column not in columns:
                self.report.error(
                    f"{option}: the file has no column {column!r}; its columns are: "
                    f"{', '.join(map(str, columns)) or 'none'}"
                )
        if not self.report.ok:
            return False
        self.frame = frame
        self.report.features = len(frame) + len(source.bad_rows)
        return True

    # --- records ----------------------------------------------------------------------------
    def build_records(self) -> None:
        level, opts, report = self.level, self.options, self.report
        frame = self.frame
        has_code = opts.code_field in frame.columns
        has_name = opts.name_field in frame.columns
        stem = self.path.stem
        rows = zip(
            frame.drop(columns="geometry").to_dict("records"), frame.geometry.values, strict=True
        )
        for data, geom in self.progress(rows, total=len(frame), desc="checking"):
            fid = data["_fid"]
            code = _clean_code(data.get(opts.code_field)) if has_code else ""
            if not code:
                if level.code_required:
                    report.error("the feature has no code", fid=fid, **self.locator.where(geom))
                    continue
                code = f"{level.code_prefix}-{stem}-{fid}"
            name = "" if not has_name else _clean_code(data.get(opts.name_field))
            if not name and level.name_required:
                report.error(
                    "the feature has no name", fid=fid, code=code, **self.locator.where(geom)
                )
            attrs = {}
            if opts.kind:
                attrs["kind"] = opts.kind
            for attr, column in opts.fields.items():
                try:
                    attrs[attr] = level.fields[attr](data.get(column))
                except ConversionError as exc:
                    report.error(f"{attr} (column {column!r}): {exc}", fid=fid, code=code)
            parent_code = _clean_code(data.get(opts.parent_field)) if opts.parent_field else None
            family = _FAMILY.get(geom.geom_type)
            if (
                family is not None
                and family != level.geometry
                and not (level.geometry == POINT and family == AREA)
            ):
                report.error(
                    f"expected a {level.geometry}, got a {geom.geom_type}",
                    fid=fid,
                    code=code,
                    **self.locator.where(geom),
                )
                continue
            geom = self._check_geometry(geom, fid, code)
            if geom is None:
                continue
            geom, note = _coerce(geom, level.geometry)
            if geom is None:
                report.error(note, fid=fid, code=code)
                continue
            if note:
                report.warning(note, fid=fid, code=code, **self.locator.where(geom))
            parts = (
                list(shapely.get_parts(geom))
                if level.geometry == LINE and geom.geom_type == "MultiLineString"
                else [geom]
            )
            if len(parts) > 1:
                report.warning(
                    f"a multi-line of {len(parts)} parts became {len(parts)} roads "
                    f"{code}-1 … {code}-{len(parts)}",
                    fid=fid,
                    code=code,
                )
            for i, part in enumerate(parts, start=1):
                self.records.append(
                    Record(
                        fid=fid,
                        code=code if len(parts) == 1 else f"{code}-{i}",
                        name=name,
                        geom=part,
                        attrs=attrs,
                        parent_code=parent_code or None,
                    )
                )

    def _check_geometry(self, geom: BaseGeometry, fid: str, code: str) -> BaseGeometry | None:
        """The geometry, repaired when asked; None (and an error) when it cannot be used."""
        coords = shapely.get_coordinates(geom)
        if coords.size and not np.all(np.isfinite(coords)):
            self.report.error(
                "the coordinates cannot be projected into the storage CRS "
                f"(EPSG:{STORAGE_SRID}): they lie outside its area of use — check --srs and "
                "whether longitude and latitude are swapped",
                fid=fid,
                code=code,
            )
            return None
        if not geom.is_valid:
            reason, where = _validity(geom)
            if self.options.repair:
                fixed = shapely.make_valid(geom)
                change = abs(fixed.area - geom.area) if self.level.geometry == AREA else 0.0
                self.report.warning(
                    f"repaired invalid geometry ({reason}); area changed by {change:.1f} m²",
                    fid=fid,
                    code=code,
                    **self.locator.where(where),
                )
                geom = fixed
            else:
                self.report.error(
                    f"invalid geometry: {reason} (use --repair to fix it with make_valid)",
                    fid=fid,
                    code=code,
                    **self.locator.where(where),
                )
                return None
        return geom

    # --- checks over all records ------------------------------------------------------------
    def check_codes(self) -> None:
        level, report = self.level, self.report
        seen: dict[str, str] = {}
        for rec in self.records:
            if rec.code in seen:
                report.error(
                    f"the code {rec.code} is used twice (also by feature {seen[rec.code]})",
                    fid=rec.fid,
                    code=rec.code,
                )
            else:
                seen[rec.code] = rec.fid
            if level.admin_level is not None:
                expected = code_length(level.admin_level)
                if not (rec.code.isdigit() and len(rec.code) == expected):
                    layout = "+".join(map(str, settings.GRIDMAP_GRID_CODE_LAYOUT))
                    report.error(
                        f"a {level.name} code has {expected} digits (layout {layout}); "
                        f"got {rec.code!r}",
                        fid=rec.fid,
                        code=rec.code,
                    )

    def check_area(self) -> None:
        """Features outside the expected area; say so when swapping lon/lat would fit."""
        level, report = self.level, self.report
        districts = list(District.objects.values_list("geom", flat=True))
        if districts and level.name != "district":
            expected = shapely.union_all([shapely.from_wkb(bytes(g.wkb)) for g in districts])
            margin = 0.0 if level.must_be_inside else BASEMAP_MARGIN_M
            grown = (
                expected.buffer(margin + self.tolerance) if margin or self.tolerance else expected
            )
            what = "the district"
        else:
            west, south, east, north = area_of_use(STORAGE_SRID)
            transformer = pyproj.Transformer.from_crs(4326, STORAGE_SRID, always_xy=True)
            xs, ys = transformer.transform([west, east, east, west], [south, south, north, north])
            grown = shapely.box(min(xs), min(ys), max(xs), max(ys))
            what = f"the storage CRS's area of use (EPSG:{STORAGE_SRID})"
        shapely.prepare(grown)
        keep: list[Record] = []
        to_wgs84 = pyproj.Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True)
        to_storage = pyproj.Transformer.from_crs(4326, STORAGE_SRID, always_xy=True)
        swapped_fits = 0
        for rec in self.records:
            # Partly outside is the nesting check's business (it says by how much); here only
            # what lies wholly outside, which usually means a wrong CRS or swapped axes.
            if grown.intersects(rec.geom):
                keep.append(rec)
                continue
            distance = grown.distance(rec.geom)
            if distance <= level.outside_margin_m:
                # e.g. a street lamp on the far side of the road that bounds the district
                report.warning(
                    f"the feature lies {distance:.1f} m outside {what}; kept",
                    fid=rec.fid,
                    code=rec.code,
                    **self.locator.where(rec.geom),
                )
                keep.append(rec)
                continue
            point = rec.geom.representative_point()
            lon, lat = to_wgs84.transform(point.x, point.y)
            sx, sy = to_storage.transform(lat, lon)
            fits = math.isfinite(sx) and grown.covers(shapely.Point(sx, sy))
            swapped_fits += fits
            hint = " — it would lie inside with longitude and latitude swapped" if fits else ""
            if level.must_be_inside:
                report.error(
                    f"the feature lies outside {what}{hint}",
                    fid=rec.fid,
                    code=rec.code,
                    **self.locator.where(rec.geom),
                )
            else:
                report.warning(
                    f"skipped: the feature lies outside {what}{hint}",
                    fid=rec.fid,
                    code=rec.code,
                    **self.locator.where(rec.geom),
                )
        if swapped_fits:
            report.notes.append(
                f"{swapped_fits} feature(s) would fit with longitude and latitude swapped: "
                "check the column order or --lon-field/--lat-field"
            )
        self.records = keep

    def resolve_parents(self) -> None:
        level, report = self.level, self.report
        if level.name == "zone":
            self._zone_communities()
            return
        if not level.parent:
            return
        parent_model = LEVELS[level.parent].model
        parents = {p.code: p for p in parent_model.objects.only("id", "code", "name", "geom")}
        if not parents:
            report.error(f"there is no {level.parent} yet: import the {level.parent} level first")
            return
        shapes = {code: shapely.from_wkb(bytes(p.geom.wkb)) for code, p in parents.items()}
        tree_codes = list(shapes)
        tree = shapely.STRtree([shapes[c] for c in tree_codes])
        for rec in self.records:
            if rec.parent_code:
                parent_code = rec.parent_code
                if parent_code not in parents:
                    report.error(
                        f"the parent {level.parent} {parent_code} does not exist",
                        fid=rec.fid,
                        code=rec.code,
                    )
                    continue
            else:
                point = rec.geom.representative_point()
                hits = [tree_codes[i] for i in tree.query(point, predicate="intersects")]
                if not hits:
                    report.error(
                        f"no {level.parent} covers this feature (give --parent-field)",
                        fid=rec.fid,
                        code=rec.code,
                        **self.locator.where(rec.geom),
                    )
                    continue
                parent_code = min(hits)
            parent_shape = shapes[parent_code]
            rec.parent_id = parents[parent_code].id
            rec.parent_code = parent_code
            if not rec.code.startswith(parent_code) and level.admin_level is not None:
                report.error(
                    f"the code {rec.code} must start with its parent's code {parent_code}",
                    fid=rec.fid,
                    code=rec.code,
                )
            if not parent_shape.buffer(self.tolerance).covers(rec.geom):
                outside = rec.geom.difference(parent_shape)
                report.error(
                    f"not within its parent {level.parent} {parent_code} "
                    f"({parents[parent_code].name}): {outside.area:.1f} m² lies outside it "
                    f"(tolerance {self.tolerance:g} m)",
                    fid=rec.fid,
                    code=rec.code,
                    **self.locator.where(outside),
                )

    def _zone_communities(self) -> None:
        """A zone lying in one community (within the tolerance) is linked to it."""
        communities = list(Community.objects.only("id", "code", "geom"))
        shapes = [shapely.from_wkb(bytes(c.geom.wkb)).buffer(self.tolerance) for c in communities]
        tree = shapely.STRtree(shapes)
        for rec in self.records:
            hits = list(tree.query(rec.geom, predicate="covered_by"))
            rec.parent_id = communities[hits[0]].id if len(hits) == 1 else None

    def check_siblings(self) -> None:
        """Overlaps between areas of the same level (errors) and gaps in each parent (warnings)."""
        level, report = self.level, self.report
        if level.admin_level is None or level.admin_level == 0:
            return
        model = level.model
        in_file = {rec.code for rec in self.records}
        others = (
            []
            if self.options.replace
            else [
                (
                    obj.code,
                    shapely.from_wkb(bytes(obj.geom.wkb)),
                    getattr(obj, f"{level.parent_fk}_id"),
                )
                for obj in model.objects.exclude(code__in=in_file).only(
                    "code", "geom", level.parent_fk
                )
            ]
        )
        items = [(r.code, r.geom, r.parent_id, r.fid) for r in self.records] + [
            (code, geom, parent, None) for code, geom, parent in others
        ]
        geoms = [item[1] for item in items]
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for i, j in zip(left, right, strict=True):
            if i >= j or (items[i][3] is None and items[j][3] is None):
                continue
            overlap = shapely.intersection(geoms[i], geoms[j], grid_size=1e-6)
            if _significant(overlap) > OVERLAP_TOLERANCE_M2:
                a, b = items[i], items[j]
                report.error(
                    f"overlaps {level.name} {b[0]} by {overlap.area:.1f} m²",
                    fid=a[3] or b[3],
                    code=a[0],
                    **self.locator.where(overlap),
                )
        if not level.parent:
            return
        parent_model = LEVELS[level.parent].model
        by_parent: dict[int, list[BaseGeometry]] = {}
        for _, geom, parent_id, _ in items:
            if parent_id is not None:
                by_parent.setdefault(parent_id, []).append(geom)
        for parent in parent_model.objects.filter(id__in=by_parent).only("code", "geom"):
            shape = shapely.from_wkb(bytes(parent.geom.wkb))
            gap = shapely.difference(
                shape, shapely.union_all(by_parent[parent.id], grid_size=1e-6), grid_size=1e-6
            )
            if _significant(gap) > GAP_TOLERANCE_M2:
                report.warning(
                    f"the {level.name} areas in {level.parent} {parent.code} leave "
                    f"{gap.area:.1f} m² of it uncovered",
                    code=parent.code,
                    **self.locator.where(gap),
                )

    # --- writing ----------------------------------------------------------------------------
    def write(self) -> None:
        level, opts, report = self.level, self.options, self.report
        model = level.model
        existing = set(
            model.objects.filter(code__in=[r.code for r in self.records]).values_list(
                "code", flat=True
            )
        )
        objects = []
        for rec in self.records:
            values = {
                **level.defaults,
                **rec.attrs,
                "code": rec.code,
                "name": rec.name,
                "geom": _to_geos(rec.geom),
            }
            if level.parent_fk:
                values[f"{level.parent_fk}_id"] = rec.parent_id
            elif level.name == "zone":
                values["community_id"] = rec.parent_id
            if level.name == "grid":
                values["area_m2"] = rec.geom.area
            objects.append(model(**values))
        update_fields = sorted(
            {"name", "geom", *level.defaults, *self._attr_names()}
            | ({f"{level.parent_fk}_id"} if level.parent_fk else set())
            | ({"community_id", "kind"} if level.name == "zone" else set())
            | ({"area_m2"} if level.name == "grid" else set())
        )
        update_fields = [f.removesuffix("_id") if f.endswith("_id") else f for f in update_fields]
        try:
            with transaction.atomic():
                for start in range(0, len(objects), 2000):
                    model.objects.bulk_create(
                        objects[start : start + 2000],
                        update_conflicts=True,
                        unique_fields=["code"],
                        update_fields=update_fields,
                    )
                if opts.replace:
                    stale = model.objects.exclude(code__in=[r.code for r in self.records])
                    if level.name == "zone" and opts.kind:
                        stale = stale.filter(kind=opts.kind)
                    try:
                        report.deleted = stale.count()
                        stale.delete()
                    except ProtectedError as exc:
                        blocked = sorted({str(o) for o in exc.protected_objects})[:5]
                        report.error(
                            "--replace would delete rows that others still use: "
                            f"{', '.join(blocked)} … (import or remove their children first)"
                        )
                        raise ImportAborted from exc
                for row in nesting_violations(tolerance_m=self.tolerance):
                    report.error(
                        f"after the import, {row['level']} {row['code']} sticks out of its parent "
                        f"{row['parent_code']} by {row['outside_m2']:.1f} m²",
                        code=row["code"],
                    )
                if not report.ok:
                    raise ImportAborted
                report.created = len(objects) - len(existing)
                report.updated = len(existing)
                if opts.dry_run:
                    raise ImportAborted
        except ImportAborted:
            return
        except IntegrityError as exc:
            report.error(f"the database refused the data: {exc}")
            return
        report.written = True

    def _attr_names(self) -> set[str]:
        names = {name for rec in self.records for name in rec.attrs}
        if self.options.kind:
            names.add("kind")
        return names

    def run(self) -> ImportReport:
        if not (self.check_options() and self.read()):
            return self.report
        self.build_records()
        self.check_codes()
        self.check_area()
        self.resolve_parents()
        if self.level.resolver:
            self.level.resolver(self)
        self.check_siblings()
        if self.report.ok:
            self.write()
        return self.report


def import_file(
    path: str | Path, options: ImportOptions, *, progress: Callable | None = None
) -> ImportReport:
    """Import ``path`` at ``options.level``; all-or-nothing. Returns the report.

    Nothing is written when the report has errors or in a dry run (``report.written`` says).
    ``progress`` wraps an iterable to show progress (e.g. ``tqdm``), or None.
    """
    if options.level not in LEVELS:
        report = ImportReport(source=Path(path).name, level=options.level)
        report.error(f"unknown level {options.level!r}; levels: {', '.join(LEVELS)}")
        return report
    return _Importer(Path(path), options, progress).run()
