"""Checks of single GPS fixes (定位点检查) for the fix intake (tracking.services.positions).

What happens to a fix (never is a bad one silently stored as truth):

- **rejected** (not stored), with a reason: malformed (a field missing or of the wrong type),
  an unknown ``srs``, coordinates outside the world or outside the area the storage CRS covers,
  a time more than ``GRIDMAP_MAX_FIX_FUTURE_S`` in the future or more than
  ``GRIDMAP_MAX_FIX_AGE_DAYS`` in the past (a GPS week roll-over sends fixes from 19.6 years ago);
- **duplicate** (not stored again): the unit already has a fix at that instant (stored earlier,
  or earlier in the same batch) — decided by the intake;
- **flagged** (stored, never used as the team's position, nor as the previous fix of the speed
  check, nor for geofences): farther than ``GRIDMAP_FIX_DISTRICT_MARGIN_M`` outside the
  district (``outside_district``); faster than ``GRIDMAP_MAX_FIX_SPEED_KMH`` from the unit's
  previous good fix (``impossible_speed``); accuracy worse than ``GRIDMAP_MAX_FIX_ACCURACY_M``
  (``inaccurate``);
- **accepted**: everything else.

The speed check compares a fix with the unit's previous good fix no more than
``SPEED_CHECK_WINDOW_S`` earlier (stored, or earlier in the batch): over longer gaps any place in
the district is reachable, and a bad first fix then stops vetoing good ones after that window.
The distance is reduced by both fixes' reported accuracy (GPS jitter is not speed).
"""

import math
import threading
import time as monotonic_time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from gridmap.crs import UnknownSRS, area_of_use, parse_srs, to_wgs84
from gridmap.models import STORAGE_SRID, WGS84, District

#: Largest batch a request may carry.
MAX_BATCH: int = int(getattr(settings, "GRIDMAP_MAX_FIX_BATCH", 1000))
#: Fixes older than this (days) are rejected.
MAX_AGE_DAYS: float = float(getattr(settings, "GRIDMAP_MAX_FIX_AGE_DAYS", 30))
#: A fix farther than this (m) outside the district is flagged.
DISTRICT_MARGIN_M: float = float(getattr(settings, "GRIDMAP_FIX_DISTRICT_MARGIN_M", 1000))
#: A fix whose reported accuracy is worse than this (m) is flagged.
MAX_ACCURACY_M: float = float(getattr(settings, "GRIDMAP_MAX_FIX_ACCURACY_M", 200))
#: Fixes further than this (s) in the future are rejected.
MAX_FUTURE_S: float = float(settings.GRIDMAP_MAX_FIX_FUTURE_S)
#: The speed check looks this far back (s) for the unit's previous good fix.
SPEED_CHECK_WINDOW_S = 600.0

EARTH_RADIUS_M = 6_371_008.8

FLAG_OUTSIDE = "outside_district"
FLAG_SPEED = "impossible_speed"
FLAG_INACCURATE = "inaccurate"


class Rejected(Exception):
    """A fix refused (not stored): ``reason`` code and message."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message


@dataclass
class Fix:
    """A fix that passed the per-fix checks, in WGS-84 degrees."""

    index: int
    unit: str
    at: datetime
    lon: float
    lat: float
    speed_kmh: float | None
    heading: float | None
    accuracy_m: float | None
    flag: str = ""
    message: str = ""
    device_id: int = 0
    team_id: int | None = None
    #: In the storage CRS (``_project``).
    x: float = 0.0
    y: float = 0.0


# --- Per-fix parsing --------------------------------------------------------------------------


def _number(raw: dict, name: str, *, required: bool) -> float | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise Rejected("malformed", _("%(field)s is missing.") % {"field": name})
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected("malformed", _("%(field)s must be a number.") % {"field": name})
    value = float(value)
    if not math.isfinite(value):
        raise Rejected("malformed", _("%(field)s must be a finite number.") % {"field": name})
    return value


def _parse_time(raw: dict) -> datetime:
    value = raw.get("time")
    if not isinstance(value, str) or not value:
        raise Rejected("malformed", _("time is missing (ISO 8601 with a UTC offset)."))
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(
            "malformed", _("time %(value)r is not ISO 8601.") % {"value": value[:40]}
        ) from None
    if at.tzinfo is None:
        raise Rejected(
            "malformed",
            _("time %(value)r has no UTC offset (e.g. +08:00 or Z).") % {"value": value[:40]},
        )
    return at


def fix_parse(index: int, raw, *, now: datetime) -> tuple[Fix, object]:
    """A fix as sent → (Fix with the coordinates as sent, its parsed srs)."""
    if not isinstance(raw, dict):
        raise Rejected("malformed", _("A fix must be a JSON object."))
    unit = raw.get("unit")
    if not isinstance(unit, str) or not unit.strip():
        raise Rejected("malformed", _("unit is missing."))
    at = _parse_time(raw)
    lon = _number(raw, "lon", required=True)
    lat = _number(raw, "lat", required=True)
    try:
        srs = parse_srs(raw.get("srs") or "wgs84")
    except UnknownSRS as exc:
        raise Rejected("unknown_srs", str(exc)) from None
    speed = _number(raw, "speed_kmh", required=False)
    heading = _number(raw, "heading", required=False)
    accuracy = _number(raw, "accuracy_m", required=False)
    if speed is not None and speed < 0:
        raise Rejected("malformed", _("speed_kmh cannot be negative."))
    if heading is not None and not 0 <= heading <= 360:
        raise Rejected("malformed", _("heading must lie between 0 and 360 degrees."))
    if accuracy is not None and accuracy < 0:
        raise Rejected("malformed", _("accuracy_m cannot be negative."))
    if srs in (WGS84, "gcj02", "bd09") and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Rejected(
            "outside_world",
            _("lon %(lon)s, lat %(lat)s lies outside the world (lon -180..180, lat -90..90).")
            % {"lon": lon, "lat": lat},
        )
    future = (at - now).total_seconds()
    if future > MAX_FUTURE_S:
        raise Rejected(
            "future",
            _("time %(at)s lies %(s)d s in the future (more than %(max)d s).")
            % {"at": at.isoformat(), "s": future, "max": MAX_FUTURE_S},
        )
    if -future > MAX_AGE_DAYS * 86400:
        raise Rejected(
            "too_old",
            _("time %(at)s lies more than %(days)d days in the past.")
            % {"at": at.isoformat(), "days": MAX_AGE_DAYS},
        )
    fix = Fix(index, unit.strip(), at, lon, lat, speed, heading, accuracy)
    return fix, srs


def fixes_to_wgs84(fixes: list[Fix], srs_of: list, problems: list[dict]) -> list[Fix]:
    """Converts the coordinates to WGS-84 in place (one vectorised call per srs), then drops
    the fixes that fall outside the world or the storage CRS's area of use."""
    by_srs: dict[object, list[int]] = defaultdict(list)
    for k, srs in enumerate(srs_of):
        if srs != WGS84:
            by_srs[srs].append(k)
    for srs, ks in by_srs.items():
        lon, lat = to_wgs84([fixes[k].lon for k in ks], [fixes[k].lat for k in ks], srs)
        for k, x, y in zip(ks, np.atleast_1d(lon), np.atleast_1d(lat), strict=True):
            fixes[k].lon, fixes[k].lat = float(x), float(y)
    # The storage CRS's area of use with in_storage_crs_domain's margin, read once a batch.
    west, south, east, north = area_of_use(settings.GRIDMAP_SRID)
    west, south, east, north = west - 1.0, south - 1.0, east + 1.0, north + 1.0
    kept = []
    for fix in fixes:
        if not (
            math.isfinite(fix.lon)
            and math.isfinite(fix.lat)
            and -180 <= fix.lon <= 180
            and -90 <= fix.lat <= 90
        ):
            problems.append(
                problem(
                    fix.index,
                    "rejected",
                    "outside_world",
                    _("The coordinates lie outside the world once converted to WGS-84."),
                )
            )
        elif not (west <= fix.lon <= east and south <= fix.lat <= north):
            problems.append(
                problem(
                    fix.index,
                    "rejected",
                    "outside_crs",
                    _(
                        "lon %(lon).6f, lat %(lat).6f lies outside the area the platform's "
                        "coordinate system covers."
                    )
                    % {"lon": fix.lon, "lat": fix.lat},
                )
            )
        else:
            kept.append(fix)
    return kept


def problem(index: int, status: str, reason: str, message: str) -> dict:
    return {"index": index, "status": status, "reason": reason, "message": message}


# --- The district, buffered by the margin, in WGS-84 (cached per process) ----------------------


class _DistrictShape:
    """The district buffered by ``DISTRICT_MARGIN_M``, as a prepared shapely geometry in
    WGS-84, kept for ``TTL_S`` seconds (and dropped when a district is saved here)."""

    TTL_S = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shape = None
        self._until = 0.0

    def clear(self, **kwargs) -> None:
        self._until = 0.0

    def get(self):
        now = monotonic_time.monotonic()
        if now < self._until:
            return self._shape
        with connection.cursor() as cursor:
            # Simplified to a metre: the margin is a kilometre, and a prepared polygon with few
            # vertices answers point-in-polygon in microseconds.
            cursor.execute(
                "SELECT ST_AsBinary(ST_Transform(ST_SimplifyPreserveTopology("
                "ST_Buffer(ST_Union(geom), %s), 1.0), 4326)) FROM gridmap_district",
                [DISTRICT_MARGIN_M],
            )
            row = cursor.fetchone()
        shape = None if row is None or row[0] is None else shapely.from_wkb(bytes(row[0]))
        if shape is not None:
            shapely.prepare(shape)
        with self._lock:
            self._shape, self._until = shape, now + self.TTL_S
        return shape


district_shape = _DistrictShape()
post_save.connect(district_shape.clear, sender=District, dispatch_uid="tracking-district-save")
post_delete.connect(district_shape.clear, sender=District, dispatch_uid="tracking-district-del")


def fixes_flag_outside(fixes: list[Fix]) -> None:
    shape = district_shape.get()
    if shape is None or not fixes:
        return
    lon = np.fromiter((f.lon for f in fixes), float, len(fixes))
    lat = np.fromiter((f.lat for f in fixes), float, len(fixes))
    inside = shapely.contains_xy(shape, lon, lat)
    for fix, ok in zip(fixes, inside, strict=True):
        if not ok:
            fix.flag = FLAG_OUTSIDE
            fix.message = _(
                "lon %(lon).6f, lat %(lat).6f lies more than %(m)d m outside the district."
            ) % {"lon": fix.lon, "lat": fix.lat, "m": DISTRICT_MARGIN_M}
            if shapely.contains_xy(shape, fix.lat, fix.lon):
                fix.message += " " + _("It would be inside with lon and lat swapped.")


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def fixes_flag_speed(fixes: list[Fix], previous: tuple | None) -> None:
    """Flags the fixes (one unit's, in time order) that imply more than the maximum speed from
    the previous good fix within ``SPEED_CHECK_WINDOW_S``. ``previous``: (at, lon, lat,
    accuracy_m) of the last good stored fix before them, or None."""
    limit = settings.GRIDMAP_MAX_FIX_SPEED_KMH
    for fix in fixes:
        if fix.flag:
            continue
        if previous is not None:
            at, lon, lat, accuracy = previous
            dt = (fix.at - at).total_seconds()
            if dt <= SPEED_CHECK_WINDOW_S:
                slack = (accuracy or 0.0) + (fix.accuracy_m or 0.0)
                distance = max(0.0, _distance_m(lon, lat, fix.lon, fix.lat) - slack)
                kmh = distance / max(dt, 1.0) * 3.6
                if kmh > limit:
                    fix.flag = FLAG_SPEED
                    fix.message = _(
                        "%(kmh).0f km/h from the previous fix (%(m).0f m in %(s).0f s); more "
                        "than %(max).0f km/h."
                    ) % {"kmh": kmh, "m": distance, "s": dt, "max": limit}
                    continue
        previous = (fix.at, fix.lon, fix.lat, fix.accuracy_m)


@lru_cache(maxsize=1)
def to_storage() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(WGS84, STORAGE_SRID, always_xy=True)


def fixes_project(fixes: list[Fix]) -> None:
    """Storage-CRS coordinates of the fixes, in one vectorised transform."""
    if not fixes:
        return
    x, y = to_storage().transform(
        np.fromiter((f.lon for f in fixes), float, len(fixes)),
        np.fromiter((f.lat for f in fixes), float, len(fixes)),
    )
    for fix, fx, fy in zip(fixes, x.tolist(), y.tolist(), strict=True):
        fix.x, fix.y = fx, fy
