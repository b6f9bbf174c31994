"""Exports (导出) of a filtered case set: GeoJSON, GeoPackage, zipped Shapefile, CSV, XLSX.

One table is built per export (``cases_frame``: one row per case, Chinese column names, the
point in the storage CRS) and written by geopandas / pyogrio (GDAL) or pandas. Formats:

- ``geojson``: RFC 7946, WGS-84 (as the standard requires);
- ``gpkg``: the storage CRS by default (metres, for GIS work), or ``crs=4326``;
- ``shp``: a zip of .shp/.shx/.dbf/.prj/.cpg. DBF field names hold at most 10 bytes: the
  Chinese names are cut at a character boundary to fit in the chosen encoding (UTF-8 by
  default, ``shp_encoding=gbk`` for older ArcGIS, where every name fits whole) and kept unique;
  the .cpg file names the encoding so that QGIS and ArcGIS read the text right. Times are
  written as text (DBF has dates only);
- ``csv``: UTF-8 with a byte-order mark (Excel opens it right), WGS-84 经度/纬度 columns;
- ``xlsx``: one sheet, the same columns as the CSV, times in local time.

Nothing is written for an empty set: a filter that matches nothing is an error, never an
empty file passed off as a result.
"""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from django.conf import settings
from django.contrib.gis.db.models.functions import AsWKB
from django.utils.translation import gettext as _
from openpyxl import Workbook

from gridmap.models import STORAGE_SRID

from .selection import AnalysisInputError

FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "shp": ("application/zip", "zip"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
SHP_ENCODINGS = {"utf-8": "UTF-8", "gbk": "GBK"}
#: Excel's limit of rows per sheet, less the header.
XLSX_MAX_ROWS = 1_048_575
DBF_NAME_BYTES = 10

#: (query path, column name) of each exported column, in order.
COLUMNS = (
    ("number", "案卷号"),
    ("category__code", "类别代码"),
    ("category__minor_name", "类别"),
    ("source", "来源"),
    ("stage", "阶段"),
    ("community__name", "社区"),
    ("grid__code", "网格"),
    ("department__name", "部门"),
    ("team__name", "队伍"),
    ("reported_at", "上报时间"),
    ("closed_at", "结案时间"),
    ("address", "地址"),
    ("description", "描述"),
    ("historical", "历史案卷"),
)
TIME_COLUMNS = ("上报时间", "结案时间")
LON, LAT = "经度", "纬度"
Progress = Callable[[float, str], object]
# pyogrio logs every write at INFO ("Created 3,070 records"): the summary says it already.
logging.getLogger("pyogrio").setLevel(logging.WARNING)


def _no_progress(fraction: float, message: str) -> None:
    return None


@dataclass(frozen=True)
class ExportParams:
    format: str
    crs: int
    shp_encoding: str = "utf-8"


def export_params_parse(*, format=None, crs=None, shp_encoding=None) -> ExportParams:
    """Check an export's format, CRS (``4326`` or the storage CRS) and Shapefile encoding."""
    if not format:
        raise AnalysisInputError("format", _("give a format: %(k)s") % {"k": ", ".join(FORMATS)})
    if format not in FORMATS:
        raise AnalysisInputError(
            "format",
            _("unknown format %(f)r; known: %(k)s") % {"f": format, "k": ", ".join(FORMATS)},
        )
    default = STORAGE_SRID if format in ("gpkg", "shp") else 4326
    if crs in (None, ""):
        srid = default
    else:
        text = str(crs).upper().removeprefix("EPSG:")
        if text not in ("4326", str(STORAGE_SRID)):
            raise AnalysisInputError(
                "crs",
                _("exports are in EPSG:4326 or the storage CRS EPSG:%(s)d, not %(c)r")
                % {"s": STORAGE_SRID, "c": crs},
            )
        srid = int(text)
        if format in ("geojson", "csv", "xlsx") and srid != 4326:
            raise AnalysisInputError(
                "crs", _("%(f)s exports are in WGS-84 (EPSG:4326)") % {"f": format}
            )
    encoding = (shp_encoding or "utf-8").lower()
    if encoding not in SHP_ENCODINGS:
        raise AnalysisInputError(
            "shp_encoding", _("known encodings: %(k)s") % {"k": ", ".join(SHP_ENCODINGS)}
        )
    if shp_encoding and format != "shp":
        raise AnalysisInputError("shp_encoding", _("only for format=shp"))
    return ExportParams(format=format, crs=srid, shp_encoding=encoding)


def cases_frame(cases) -> gpd.GeoDataFrame:
    """The cases as a GeoDataFrame in the storage CRS, Chinese column names, times aware."""
    rows = cases.order_by("reported_at", "id").annotate(_wkb=AsWKB("geom"))
    values = list(rows.values_list(*(path for path, _ in COLUMNS), "_wkb"))
    if not values:
        raise AnalysisInputError("filters", _("no case matches these filters: nothing to export"))
    frame = pd.DataFrame.from_records(
        [v[:-1] for v in values], columns=[name for _, name in COLUMNS]
    )
    geometry = shapely.from_wkb([bytes(v[-1]) for v in values])
    for column in TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(settings.TIME_ZONE)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].fillna("")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=f"EPSG:{STORAGE_SRID}")


def dbf_names(names: list[str], encoding: str) -> dict[str, str]:
    """Column name → a DBF field name of at most 10 bytes in ``encoding``, cut at a character
    boundary and made unique with a numeric suffix."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        short = name
        while len(short.encode(encoding)) > DBF_NAME_BYTES:
            short = short[:-1]
        candidate, k = short, 1
        while candidate in used:
            suffix = str(k)
            base = short
            while len((base + suffix).encode(encoding)) > DBF_NAME_BYTES:
                base = base[:-1]
            candidate, k = base + suffix, k + 1
        used.add(candidate)
        out[name] = candidate
    return out


def _with_lonlat(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    wgs = frame.geometry.to_crs(4326)
    table = pd.DataFrame(frame.drop(columns="geometry"))
    table[LON] = np.round(wgs.x.to_numpy(), 7)
    table[LAT] = np.round(wgs.y.to_numpy(), 7)
    return table


def _as_text_times(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in TIME_COLUMNS:
        out[column] = out[column].map(lambda t: t.isoformat() if pd.notna(t) else "")
    return out


def _write_vector(frame: gpd.GeoDataFrame, path: Path, driver: str, **options) -> None:
    pyogrio.write_dataframe(frame, path, driver=driver, **options)


def _write_xlsx(table: pd.DataFrame, path: Path) -> None:
    """One sheet, streamed (openpyxl's write-only mode: several times faster than
    ``DataFrame.to_excel``, which styles every cell)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("cases")
    sheet.append(list(table.columns))
    for row in table.astype(object).where(table.notna(), None).itertuples(index=False, name=None):
        sheet.append(row)
    book.save(path)


def export_write(frame: gpd.GeoDataFrame, params: ExportParams, folder: Path) -> Path:
    """Write ``frame`` as ``params`` says into ``folder``; returns the file."""
    name = f"cases.{FORMATS[params.format][1]}"
    path = folder / name
    if params.format == "geojson":
        _write_vector(frame.to_crs(4326), path, "GeoJSON", layer_options={"RFC7946": "YES"})
    elif params.format == "gpkg":
        out = frame if params.crs == STORAGE_SRID else frame.to_crs(params.crs)
        # GeoPackage date-times are UTC ("…Z"); readers convert them back.
        out = out.assign(**{c: out[c].dt.tz_convert("UTC") for c in TIME_COLUMNS})
        _write_vector(out, path, "GPKG", layer="cases")
    elif params.format == "shp":
        out = frame if params.crs == STORAGE_SRID else frame.to_crs(params.crs)
        out = _as_text_times(out)
        out = out.rename(
            columns=dbf_names([c for c in out.columns if c != "geometry"], params.shp_encoding)
        )
        parts = folder / "shp"
        parts.mkdir()
        _write_vector(
            gpd.GeoDataFrame(out, geometry="geometry"),
            parts / "cases.shp",
            "ESRI Shapefile",
            encoding=SHP_ENCODINGS[params.shp_encoding],
        )
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(parts.iterdir()):
                archive.write(part, part.name)
    elif params.format == "csv":
        table = _as_text_times(_with_lonlat(frame))
        table.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        if len(frame) > XLSX_MAX_ROWS:
            raise AnalysisInputError(
                "format",
                _("%(n)s cases do not fit in one Excel sheet (%(max)s rows): use csv or gpkg")
                % {"n": f"{len(frame):,}", "max": f"{XLSX_MAX_ROWS:,}"},
            )
        table = _with_lonlat(frame)
        for column in TIME_COLUMNS:
            table[column] = table[column].dt.tz_localize(None)
        _write_xlsx(table, path)
    return path


@dataclass(frozen=True)
class ExportFile:
    """An export's bytes, file name and content type."""

    content: bytes
    filename: str
    content_type: str
    rows: int


def cases_export(cases, params: ExportParams, *, progress: Progress = _no_progress) -> ExportFile:
    """Export ``cases`` (a queryset, already filtered and scoped) as ``params`` says."""
    progress(0.05, "reading cases")
    frame = cases_frame(cases)
    progress(0.4, f"writing {len(frame):,} cases as {params.format}")
    with tempfile.TemporaryDirectory(prefix="gridmap-export-") as folder:
        path = export_write(frame, params, Path(folder))
        content = path.read_bytes()
    progress(0.95, "written")
    return ExportFile(
        content=content,
        filename=path.name,
        content_type=FORMATS[params.format][0],
        rows=len(frame),
    )


def export_read(content: bytes, format: str) -> gpd.GeoDataFrame:
    """Read an export back (for checks and tests): the same rows and geometry."""
    with tempfile.TemporaryDirectory() as folder:
        suffix = FORMATS[format][1]
        path = Path(folder) / f"cases.{suffix}"
        path.write_bytes(content)
        if format == "csv":
            table = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str)
            points = gpd.points_from_xy(table[LON].astype(float), table[LAT].astype(float))
            return gpd.GeoDataFrame(table, geometry=points, crs=4326)
        if format == "xlsx":
            table = pd.read_excel(path, dtype=str)
            points = gpd.points_from_xy(table[LON].astype(float), table[LAT].astype(float))
            return gpd.GeoDataFrame(table, geometry=points, crs=4326)
        if format == "shp":
            return gpd.read_file(f"zip://{path}")
        return gpd.read_file(path)
