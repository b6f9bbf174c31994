"""Attendance (考勤): check-in and check-out (签到 / 签退) against the shift plan and the team's
base, and the absences (缺勤) of shifts nobody checked in to.

Where a team's base is: its geofences of kind ``base`` (the yard, the office), else a circle of
``GRIDMAP_ATTENDANCE_RADIUS_M`` around its ``base_geom``; a team with neither is not checked
for place (``distance_m`` empty). A check-in or check-out farther than that is ``away``, with
the distance in metres from the base.

Which shift a row belongs to: a check-in counts for a shift from ``WINDOW`` before its start
until its end (the nearest start wins), a check-out from its start until ``WINDOW`` after its
end. Then a check-in more than ``GRIDMAP_ATTENDANCE_GRACE_MIN`` after the start is ``late``, a
check-out more than that before the end ``early``; otherwise ``on_time``. Outside any shift of
the team (or for a team without a shift plan): ``no_shift``. Being away outweighs the time.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridmap.crs import UnknownSRS, in_storage_crs_domain, parse_srs, to_wgs84
from gridmap.models import STORAGE_SRID, WGS84, Attendance, Geofence, ShiftPlan, Team, User

from ..shifts import Shift, local_time, occurrences

#: How long before a shift a check-in, and after it a check-out, still belongs to it.
WINDOW = timedelta(hours=2)
#: Roles that check in and out (people of a team).
MEMBERS = {User.Role.FIELD_MEMBER, User.Role.TEAM_LEADER}
#: How far back (hours) the absence sweep looks for shifts that ended.
ABSENCE_LOOKBACK_H = 24


class AttendanceRefused(Exception):
    def __init__(self, field: str, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def _grace() -> timedelta:
    return timedelta(minutes=float(getattr(settings, "GRIDMAP_ATTENDANCE_GRACE_MIN", 5)))


def _radius_m() -> float:
    return float(getattr(settings, "GRIDMAP_ATTENDANCE_RADIUS_M", 200))


def team_plans(team_id: int) -> list[tuple]:
    """The team's shift plan as (weekday, start, end) rows."""
    return list(ShiftPlan.objects.filter(team_id=team_id).values_list("weekday", "start", "end"))


def shift_for(plans: list[tuple], kind: str, at: datetime) -> Shift | None:
    """The shift a check-in / check-out at ``at`` belongs to (see the module docstring)."""
    candidates = []
    for shift in occurrences(plans, at):
        if kind == Attendance.Kind.CHECK_IN and shift.start - WINDOW <= at < shift.end:
            candidates.append((abs((at - shift.start).total_seconds()), shift))
        elif kind == Attendance.Kind.CHECK_OUT and shift.start <= at < shift.end + WINDOW:
            candidates.append((abs((at - shift.end).total_seconds()), shift))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def base_distance_m(team: Team, point: Point) -> float | None:
    """Metres from ``point`` (storage CRS) to the team's base: 0 inside, None without one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(ST_Distance(geom, %s)) FROM gridmap_geofence WHERE team_id = %s "
            "AND kind = %s",
            [point.ewkb, team.pk, Geofence.Kind.BASE],
        )
        (distance,) = cursor.fetchone()
    if distance is not None:
        return float(distance)
    if team.base_geom is None:
        return None
    return max(0.0, team.base_geom.distance(point) - _radius_m())


def _storage_point(lon: float, lat: float, srs: str) -> Point:
    try:
        parsed = parse_srs(srs or "wgs84")
    except UnknownSRS as exc:
        raise AttendanceRefused("srs", str(exc), status=400) from None
    if parsed != WGS84:
        lon, lat = (float(v) for v in to_wgs84(lon, lat, parsed))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise AttendanceRefused(
            "lon",
            _("lon %(lon)s, lat %(lat)s lies outside the world.") % {"lon": lon, "lat": lat},
            status=400,
        )
    if not in_storage_crs_domain(lon, lat):
        raise AttendanceRefused(
            "lon",
            _("lon %(lon).6f, lat %(lat).6f lies outside the area the platform covers.")
            % {"lon": lon, "lat": lat},
        )
    point = Point(lon, lat, srid=WGS84)
    point.transform(STORAGE_SRID)
    return point


def _judge(kind: str, at: datetime, shift: Shift | None, distance: float | None) -> tuple:
    """(status, note) of a check-in / check-out."""
    late = ""
    if shift is None:
        status = "no_shift"
    elif kind == Attendance.Kind.CHECK_IN and at > shift.start + _grace():
        minutes = (at - shift.start).total_seconds() / 60
        status, late = "late", _("late by %(min).0f min") % {"min": minutes}
    elif kind == Attendance.Kind.CHECK_OUT and at < shift.end - _grace():
        minutes = (shift.end - at).total_seconds() / 60
        status, late = "early", _("left %(min).0f min early") % {"min": minutes}
    else:
        status = "on_time"
    if distance is not None and distance > 0:
        return "away", late
    return status, late


def attendance_record(
    *,
    user,
    kind: str,
    lon: float,
    lat: float,
    srs: str = "wgs84",
    note: str = "",
    at: datetime | None = None,
) -> Attendance:
    """Record a check-in or check-out of ``user`` (a field member or team leader of a team) at
    WGS-84 (or ``srs``) ``lon``/``lat``, now (or ``at``), judged against the team's shift plan
    and base. Raises ``AttendanceRefused`` (403 not a team member, 422 no team or outside the
    covered area, 400 bad srs); nothing is written then."""
    if user.role not in MEMBERS:
        raise AttendanceRefused(
            "user",
            _("Only field team members and team leaders check in and out."),
            status=403,
        )
    if not user.team_id:
        raise AttendanceRefused("team", _("Your account belongs to no team."))
    at = at or timezone.now()
    point = _storage_point(lon, lat, srs)
    team = Team.objects.get(pk=user.team_id)
    shift = shift_for(team_plans(team.pk), kind, at)
    distance = base_distance_m(team, point)
    status, extra = _judge(kind, at, shift, distance)
    text = "; ".join(part for part in (note.strip(), extra) if part)
    return Attendance.objects.create(
        user=user,
        team=team,
        kind=kind,
        at=at,
        geom=point,
        status=status,
        note=text[:300],
        shift_start=shift.start if shift else None,
        distance_m=distance,
    )


def absences_write(*, now: datetime | None = None) -> int:
    """Write an ``absent`` row (no user: the whole team) for every shift that ended in the last
    ``ABSENCE_LOOKBACK_H`` hours without any check-in of the team. Idempotent (one absence per
    team and shift, enforced by the database). Returns how many were written."""
    now = now or timezone.now()
    since = now - timedelta(hours=ABSENCE_LOOKBACK_H)
    plans_by_team: dict[int, list[tuple]] = {}
    for team_id, weekday, start, end in ShiftPlan.objects.values_list(
        "team_id", "weekday", "start", "end"
    ):
        plans_by_team.setdefault(team_id, []).append((weekday, start, end))
    rows = []
    for team_id, plans in plans_by_team.items():
        ended = [
            s for s in occurrences(plans, now, days_before=2, days_after=0) if since <= s.end <= now
        ]
        if not ended:
            continue
        present = set(
            Attendance.objects.filter(
                team_id=team_id,
                kind__in=[Attendance.Kind.CHECK_IN, Attendance.Kind.ABSENT],
                shift_start__in=[s.start for s in ended],
            ).values_list("shift_start", flat=True)
        )
        for shift in ended:
            if shift.start not in present:
                rows.append(
                    Attendance(
                        team_id=team_id,
                        kind=Attendance.Kind.ABSENT,
                        at=shift.start,
                        status="absent",
                        shift_start=shift.start,
                        note=_("Nobody checked in to the shift %(start)s–%(end)s.")
                        % {
                            "start": local_time(shift.start).strftime("%H:%M"),
                            "end": local_time(shift.end).strftime("%H:%M"),
                        },
                    )
                )
    written = 0
    for row in rows:
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            continue  # another sweep wrote it first
        written += 1
    return written
