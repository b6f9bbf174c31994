"""Coordinate reference systems: the storage CRS, EPSG codes, and China's GCJ-02 and BD-09.

The storage CRS (``GRIDMAP_SRID``) is metric and projected; the API speaks WGS-84 (EPSG:4326);
inputs may declare an EPSG code or one of the Chinese offset systems (``srs``). Every importer and
API that accepts ``srs`` goes through ``parse_srs`` and ``to_wgs84`` here.
"""

import math
from functools import lru_cache

import numpy as np
import pyproj
from django.conf import settings


@lru_cache(maxsize=4)
def area_of_use(srid: int) -> tuple[float, float, float, float]:
    area = pyproj.CRS.from_epsg(srid).area_of_use
    if area is None:
        return (-180.0, -90.0, 180.0, 90.0)
    return (area.west, area.south, area.east, area.north)


def in_storage_crs_domain(lon: float, lat: float, *, margin_deg: float = 1.0) -> bool:
    """True when a WGS-84 point lies within the storage CRS's area of use (plus a margin)."""
    west, south, east, north = area_of_use(settings.GRIDMAP_SRID)
    return (west - margin_deg) <= lon <= (east + margin_deg) and (south - margin_deg) <= lat <= (
        north + margin_deg
    )


def clip_to_storage_crs_domain(
    bbox: tuple[float, float, float, float],
) -> tuple[float, float, float, float]:
    """Clip a WGS-84 bbox to the storage CRS's area of use, so that it can be projected."""
    west, south, east, north = area_of_use(settings.GRIDMAP_SRID)
    minx, miny, maxx, maxy = bbox
    return (max(minx, west), max(miny, south), min(maxx, east), min(maxy, north))


# --- Chinese offset coordinate systems --------------------------------------------------------
#
# GCJ-02 ("Mars coordinates") is the legally mandated obfuscation of WGS-84 used by AMap/Gaode,
# Tencent and most phone map SDKs inside China; BD-09 is Baidu's further offset of GCJ-02. Neither
# has an EPSG code. The forward formulas are published; there is no closed-form inverse, so
# GCJ-02 → WGS-84 iterates the forward formula (a few steps to well below a millimetre). Outside
# China's bounding box the offset is not applied, so coordinates there pass unchanged.

_GCJ_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the formula
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0

#: Spellings accepted for the Chinese offset systems (``--srs`` and the API's ``srs``).
GCJ02_NAMES = {"gcj02", "gcj-02", "gcj", "mars", "amap", "gaode"}
BD09_NAMES = {"bd09", "bd-09", "baidu"}


def out_of_china(lon, lat):
    """True where the offset is not applied (outside China's bounding box). Arrays or scalars."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _offset(lon, lat):
    x, y = lon - 105.0, lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * math.pi) + 320.0 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = dlon * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """WGS-84 → GCJ-02 (degrees; numpy arrays or scalars). Unchanged outside China."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(lon, lat, *, tolerance_deg: float = 1e-10, max_iterations: int = 30):
    """GCJ-02 → WGS-84 by iterating the forward formula (error far below 0.5 m)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(max_iterations):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < tolerance_deg) and np.all(np.abs(elat) < tolerance_deg):
            break
    return wlon, wlat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (Baidu). Unchanged outside China."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    outside = out_of_china(lon, lat)
    return (
        np.where(outside, lon, z * np.cos(theta) + 0.0065),
        np.where(outside, lat, z * np.sin(theta) + 0.006),
    )


def bd09_to_gcj02(lon, lat, *, tolerance_deg: float = 1e-10, max_iterations: int = 30):
    """BD-09 → GCJ-02: the published approximate inverse, refined by iterating the forward."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    outside = out_of_china(lon, lat)
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iterations):
        blon, blat = gcj02_to_bd09(glon, glat)
        elon, elat = blon - lon, blat - lat
        glon, glat = glon - elon, glat - elat
        if np.all(np.abs(elon) < tolerance_deg) and np.all(np.abs(elat) < tolerance_deg):
            break
    return np.where(outside, lon, glon), np.where(outside, lat, glat)


def wgs84_to_bd09(lon, lat):
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_ACCEPTED = "give an EPSG code (e.g. 4326, EPSG:4490), gcj02 or bd09"


class UnknownSRS(ValueError):
    """An ``srs`` that is neither an EPSG code nor one of the Chinese offset systems."""


def parse_srs(srs: str | int | None) -> str | int:
    """Normalise an ``srs``: an EPSG code (int), ``"gcj02"`` or ``"bd09"``; None → 4326.

    Accepts ``4490``, ``"EPSG:4490"``, ``"epsg:4490"``, ``"wgs84"``, ``"gcj02"``, ``"GCJ-02"``,
    ``"bd09"``… and raises ``UnknownSRS`` (naming what it accepts) for anything else.
    """
    if srs is None or srs == "":
        return 4326
    if isinstance(srs, bool):
        raise UnknownSRS(f"unknown srs {srs!r}: {_ACCEPTED}")
    if isinstance(srs, int):
        code = srs
    else:
        text = str(srs).strip().lower()
        if text in GCJ02_NAMES:
            return "gcj02"
        if text in BD09_NAMES:
            return "bd09"
        if text in {"wgs84", "wgs-84", "wgs 84"}:
            return 4326
        text = text.removeprefix("epsg:")
        # ASCII digits only: str.isdigit() also accepts "²" (which int() then refuses) and other
        # scripts' digits.
        if not (text.isascii() and text.isdigit()):
            raise UnknownSRS(f"unknown srs {srs!r}: {_ACCEPTED}")
        code = int(text)
    try:
        pyproj.CRS.from_epsg(code)
    except pyproj.exceptions.CRSError:
        raise UnknownSRS(
            f"unknown srs {srs!r}: EPSG:{code} is not a known CRS; {_ACCEPTED}"
        ) from None
    return code


def to_wgs84(lon, lat, srs: str | int):
    """Coordinates in ``srs`` (as ``parse_srs`` returns it) → WGS-84 lon/lat arrays.

    For an EPSG code, x/y are in that CRS's units in (east, north) order.
    """
    if srs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if srs == "bd09":
        return bd09_to_wgs84(lon, lat)
    if srs == 4326:
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    transformer = pyproj.Transformer.from_crs(srs, 4326, always_xy=True)
    return transformer.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
