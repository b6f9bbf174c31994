"""Driving along a line: where a team is after so many metres, and the fixes its 4G unit sends.

Distances are measured in a local equirectangular approximation around each vertex (WGS-84
degrees to metres): over the few kilometres of a district it is within a few centimetres of the
geodesic, which is far below GPS noise.
"""

import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

M_PER_DEG_LAT = 111_320.0


def _metres(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """(east, north) metres from a to b (WGS-84 lon/lat)."""
    mid_lat = math.radians((a[1] + b[1]) / 2)
    return (
        (b[0] - a[0]) * M_PER_DEG_LAT * math.cos(mid_lat),
        (b[1] - a[1]) * M_PER_DEG_LAT,
    )


@dataclass(frozen=True)
class Path:
    """A polyline in WGS-84 with the cumulative length (m) at each vertex."""

    points: tuple[tuple[float, float], ...]
    stations: tuple[float, ...]

    @property
    def length_m(self) -> float:
        return self.stations[-1]

    def at(self, distance_m: float) -> tuple[float, float, float]:
        """(lon, lat, heading in degrees from north) after ``distance_m`` metres, clamped to
        the ends."""
        d = min(max(distance_m, 0.0), self.length_m)
        i = 1
        while i < len(self.stations) - 1 and self.stations[i] < d:
            i += 1
        a, b = self.points[i - 1], self.points[i]
        span = self.stations[i] - self.stations[i - 1]
        f = 0.0 if span == 0 else (d - self.stations[i - 1]) / span
        east, north = _metres(a, b)
        heading = math.degrees(math.atan2(east, north)) % 360.0
        return a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), heading


def path_of(coordinates) -> Path:
    """A Path from GeoJSON LineString coordinates (at least one point)."""
    points = tuple((float(c[0]), float(c[1])) for c in coordinates)
    if not points:
        raise ValueError("a path needs at least one point")
    if len(points) == 1:
        points = points * 2
    stations = [0.0]
    for a, b in itertools.pairwise(points):
        stations.append(stations[-1] + math.hypot(*_metres(a, b)))
    return Path(points, tuple(stations))


def straight(start: tuple[float, float], end: tuple[float, float]) -> Path:
    """The straight line from start to end (when no route over the roads is known)."""
    return path_of([start, end])


def route_to(path: Path, end: tuple[float, float]) -> Path:
    """``path`` extended to ``end`` when it stops short of it (a recommended route ends where
    the case meets the road; the last metres are on foot)."""
    last = path.points[-1]
    if math.hypot(*_metres(last, end)) < 1.0:
        return path
    return path_of([*path.points, end])


def fixes(
    *,
    unit: str,
    path: Path,
    start_m: float,
    end_m: float,
    speed_kmh: float,
    times: list[datetime],
) -> list[dict]:
    """GPS fixes for ``times`` (real instants, ascending) spread evenly from ``start_m`` to
    ``end_m`` along ``path``: what a 4G unit sends in one batch."""
    out = []
    count = len(times)
    for k, at in enumerate(times, start=1):
        lon, lat, heading = path.at(start_m + (end_m - start_m) * k / count)
        out.append(
            {
                "unit": unit,
                "time": at.isoformat(),
                "lon": round(lon, 7),
                "lat": round(lat, 7),
                "speed_kmh": round(speed_kmh, 1),
                "heading": round(heading, 1),
                "accuracy_m": 8.0,
            }
        )
    return out


def spread(end: datetime, span_s: float, count: int) -> list[datetime]:
    """``count`` instants evenly spaced over the ``span_s`` real seconds before ``end``."""
    step = span_s / count
    return [end - timedelta(seconds=step * (count - k)) for k in range(1, count + 1)]
