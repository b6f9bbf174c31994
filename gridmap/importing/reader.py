"""Read a district's data files into a GeoDataFrame in the storage CRS.

Formats: GeoJSON, Shapefile (also zipped), GeoPackage, KML (through pyogrio / GDAL), and CSV or
Excel with longitude / latitude columns (through pandas, so that a bad row is reported by its
row number instead of failing the file). Coordinates may be in any EPSG CRS (``--srs`` or the
file's own CRS; WGS-84 when neither says), or in China's offset systems GCJ-02 and BD-09, which
are converted to WGS-84 vertex by vertex before the projection to the storage CRS.
"""

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from django.conf import settings

from ..crs import UnknownSRS, parse_srs, to_wgs84

LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "gcj_lon", "gps_lon")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "gcj_lat", "gps_lat")
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xls"}


class ReadError(ValueError):
    """The file cannot be read at all (missing, unknown format, no such layer or column)."""


@dataclass
class SourceData:
    """Features read from a file, projected to the storage CRS.

    ``frame`` has the file's attribute columns plus ``_fid`` (the feature id to report: the FID,
    or the row number in a CSV / Excel file, counting the header as row 1) and ``geometry``.
    ``bad_rows`` lists (fid, reason) of rows that could not become a geometry at all.
    """

    frame: gpd.GeoDataFrame
    srs: str | int
    source_crs: str
    bad_rows: list[tuple[str, str]] = field(default_factory=list)


def _pick_column(columns, wanted: str | None, candidates: tuple[str, ...], what: str) -> str:
    if wanted:
        if wanted not in columns:
            raise ReadError(
                f"there is no {what} column {wanted!r}; the columns are: {', '.join(columns)}"
            )
        return wanted
    lowered = {str(c).strip().lower(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    raise ReadError(
        f"cannot tell which column holds the {what}; name it (e.g. --{what[:3]}-field), "
        f"the columns are: {', '.join(map(str, columns))}"
    )


def _read_table(
    path: Path, lon_field: str | None, lat_field: str | None
) -> tuple[pd.DataFrame, list]:
    """A CSV / Excel file with coordinate columns → (frame with lon/lat floats, bad rows)."""
    try:
        if path.suffix.lower() in {".xlsx", ".xls"}:
            table = pd.read_excel(path, dtype=str).fillna("")
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ReadError(f"cannot read {path.name}: {exc}") from exc
    lon_col = _pick_column(table.columns, lon_field, LON_NAMES, "longitude")
    lat_col = _pick_column(table.columns, lat_field, LAT_NAMES, "latitude")
    lon = pd.to_numeric(table[lon_col].str.strip(), errors="coerce")
    lat = pd.to_numeric(table[lat_col].str.strip(), errors="coerce")
    fids = [str(i + 2) for i in range(len(table))]  # row 1 is the header
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    bad_rows = [
        (
            fid,
            f"no usable coordinates ({lon_col}={table[lon_col].iloc[i]!r}, "
            f"{lat_col}={table[lat_col].iloc[i]!r})",
        )
        for i, fid in enumerate(fids)
        if bad.iloc[i]
    ]
    table = table.assign(_fid=fids, _x=lon, _y=lat)[~bad.to_numpy()]
    return table, bad_rows


def _transform_offset_system(geoms: np.ndarray, srs: str) -> np.ndarray:
    """GCJ-02 / BD-09 vertices → WGS-84 vertices (vectorised over every vertex)."""

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1], srs)
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, convert)


def read_source(
    path: str | Path,
    *,
    layer: str | None = None,
    srs: str | int | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
) -> SourceData:
    """Read ``path`` and project it into the storage CRS (``settings.GRIDMAP_SRID``).

    ``srs`` overrides the file's CRS (an EPSG code, ``gcj02`` or ``bd09``); without it the
    file's own CRS is used, else WGS-84. Raises ``ReadError`` when the file cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise ReadError(f"no such file: {path}")
    try:
        declared = parse_srs(srs) if srs not in (None, "") else None
    except UnknownSRS as exc:
        raise ReadError(str(exc)) from exc

    bad_rows: list[tuple[str, str]] = []
    if path.suffix.lower() in TABLE_SUFFIXES:
        table, bad_rows = _read_table(path, lon_field, lat_field)
        geoms = shapely.points(table["_x"].to_numpy(float), table["_y"].to_numpy(float))
        frame = gpd.GeoDataFrame(
            table.drop(columns=["_x", "_y"]), geometry=geoms, crs=None
        ).reset_index(drop=True)
        file_crs = None
    else:
        try:
            frame = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            layers = ""
            try:
                layers = ", ".join(name for name, _ in pyogrio.list_layers(path))
            except (pyogrio.errors.DataSourceError, OSError):
                layers = ""
            hint = f" (layers: {layers})" if layers else ""
            raise ReadError(f"cannot read {path.name}: {exc}{hint}") from exc
        frame["_fid"] = [str(i) for i in frame.index]
        frame = frame.reset_index(drop=True)
        file_crs = frame.crs
        if "geometry" not in frame:
            raise ReadError(f"{path.name} has no geometry")
        missing = frame.geometry.isna() | frame.geometry.is_empty
        bad_rows += [(fid, "the feature has no geometry") for fid in frame.loc[missing, "_fid"]]
        frame = frame[~missing].reset_index(drop=True)

    frame["geometry"] = shapely.force_2d(frame.geometry.values)
    if declared in ("gcj02", "bd09"):
        frame = frame.set_geometry(
            _transform_offset_system(np.asarray(frame.geometry.values), declared), crs=4326
        )
        source_crs = {"gcj02": "GCJ-02", "bd09": "BD-09"}[declared]
        used_srs: str | int = declared
    else:
        if declared is not None:
            crs = declared
        elif file_crs is not None:
            crs = file_crs
        else:
            crs = 4326
        frame = frame.set_crs(crs, allow_override=True)
        source_crs = str(frame.crs.to_string())
        used_srs = declared if declared is not None else (frame.crs.to_epsg() or source_crs)
    frame = frame.to_crs(settings.GRIDMAP_SRID)
    return SourceData(frame=frame, srs=used_srs, source_crs=source_crs, bad_rows=bad_rows)
