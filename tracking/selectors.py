"""Reads of tracking: a team's track for playback, attendance rows."""

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from gridmap.models import WGS84, Attendance, Team

#: Longest period a track request may cover (days).
MAX_TRACK_DAYS = 7
#: Most fixes a track answers with (the oldest first); a phone posting every 5 s for 7 days
#: stays below it.
MAX_TRACK_FIXES = 200_000

# Through the (team_id, at) index of every monthly partition the period touches (the others
# are pruned at plan time: ``at`` bounds are parameters).
_TRACK_SQL = f"""
SELECT p.at, ST_X(w.pt), ST_Y(w.pt), p.speed_kmh, p.heading, p.accuracy_m, p.flag, d.unit_id
FROM gridmap_position p
JOIN gridmap_device d ON d.id = p.device_id
CROSS JOIN LATERAL (SELECT ST_Transform(p.geom, {WGS84}) AS pt) w
WHERE p.team_id = %(team)s AND p.at >= %(start)s AND p.at < %(end)s
  AND (%(flagged)s OR p.flag = '')
ORDER BY p.at, p.device_id
LIMIT %(limit)s
"""


def team_track(*, team: Team, start: datetime, end: datetime, flagged: bool = False) -> dict:
    """The team's fixes in [start, end) as a GeoJSON FeatureCollection in WGS-84: first a
    LineString through the good fixes in time order (``properties.times``: their ISO times),
    then one Point per fix with its time, unit, speed (km/h), heading (degrees), accuracy (m)
    and flag. Flagged fixes only with ``flagged`` (and never in the line)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _TRACK_SQL,
            {
                "team": team.pk,
                "start": start,
                "end": end,
                "flagged": flagged,
                "limit": MAX_TRACK_FIXES,
            },
        )
        rows = cursor.fetchall()
    points, line, times = [], [], []
    for at, lon, lat, speed, heading, accuracy, flag, unit in rows:
        coordinates = [round(lon, 7), round(lat, 7)]
        points.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": coordinates},
                "properties": {
                    "at": at.isoformat(),
                    "unit": unit,
                    "speed_kmh": speed,
                    "heading": heading,
                    "accuracy_m": accuracy,
                    "flag": flag,
                },
            }
        )
        if not flag:
            line.append(coordinates)
            times.append(at.isoformat())
    features = []
    if len(line) >= 2:  # a LineString needs two positions
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": line},
                "properties": {"kind": "track", "times": times},
            }
        )
    return {
        "type": "FeatureCollection",
        "team": team.code,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "fixes": len(points),
        "truncated": len(rows) == MAX_TRACK_FIXES,
        "features": features + points,
    }


def attendance_list(*, teams: QuerySet[Team], start: datetime, end: datetime) -> QuerySet:
    """Attendance rows of ``teams`` in [start, end), newest first."""
    return (
        Attendance.objects.filter(team__in=teams, at__gte=start, at__lt=end)
        .select_related("team", "user")
        .order_by("-at", "-id")
    )
