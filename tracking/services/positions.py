"""Intake of GPS fixes (定位上报) from phones and vehicles' 4G units: ``positions_ingest``.

A batch of fixes is checked fix by fix (``tracking.services.fix_checks`` says what happens to a
bad one), stored in one INSERT … SELECT FROM unnest (the position table is partitioned by
month, see gridmap/models/tracking.py), and then moves on what depends on positions: each
device's ``last_fix_at``, each team's ``position_geom`` / ``position_at`` (from its newest good
fix only; dispatch reads these), and the vehicle geofences (``tracking.services.fences``).

A batch costs two round trips whatever its size, in pipeline mode: BEGIN, the devices with
their previous good fix (which also locks the devices' rows, so that two batches of one device
are checked one after the other) and the geofence query; then the insert with the device and
team updates (one statement) and, unless a geofence event opens or closes, the COMMIT.

A whole batch is refused (nothing stored) when it is not a list of at most
``GRIDMAP_MAX_FIX_BATCH`` fixes (400), names a unit that does not exist (422), or a unit that is
not the caller's own or is deactivated (403): a device cannot post as another.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridmap.models import STORAGE_SRID, WGS84

from . import fences
from .fix_checks import (
    FLAG_INACCURATE,
    MAX_ACCURACY_M,
    MAX_BATCH,
    SPEED_CHECK_WINDOW_S,
    Fix,
    Rejected,
    fix_parse,
    fixes_flag_outside,
    fixes_flag_speed,
    fixes_project,
    fixes_to_wgs84,
    problem,
)


class BatchRefused(Exception):
    """The whole batch is refused (nothing stored): ``status`` 400, 403 or 422."""

    def __init__(self, status: int, field_name: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field_name
        self.message = message


@dataclass
class IngestResult:
    """Counts and the fixes that were not simply accepted (index in the batch, status, reason
    code, message)."""

    accepted: int = 0
    flagged: int = 0
    rejected: int = 0
    duplicates: int = 0
    problems: list[dict] = field(default_factory=list)
    fence_events: list[int] = field(default_factory=list)

    def as_json(self, total: int) -> dict:
        """Counts, and one outcome per fix of the batch in its order (``accepted`` ones
        carry only their index and status)."""
        outcomes: list[dict] = [{"index": k, "status": "accepted"} for k in range(total)]
        for outcome in self.problems:
            outcomes[outcome["index"]] = outcome
        return {
            "accepted": self.accepted,
            "flagged": self.flagged,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "fence_events": len(self.fence_events),
            "fixes": outcomes,
        }


# --- SQL ----------------------------------------------------------------------------------------

# The batch's devices, locked in id order (two batches of one device are checked one after the
# other; a consistent order cannot deadlock), each with its last good fix shortly before the
# batch's first one. The lateral lookup walks the primary key (device_id, at) backwards in the
# one or two monthly partitions the window touches (run-time partition pruning).
_DEVICES_SQL = f"""
SELECT d.id, d.unit_id, d.user_id, d.active, COALESCE(d.team_id, v.team_id), d.vehicle_id,
       v.kind, d.last_fix_at, p.at, ST_X(p.pt), ST_Y(p.pt), p.accuracy_m
FROM unnest(%(units)s::text[], %(first)s::timestamptz[]) AS b(unit_id, first_at)
JOIN gridmap_device d ON d.unit_id = b.unit_id
LEFT JOIN gridmap_vehicle v ON v.id = d.vehicle_id
LEFT JOIN LATERAL (
    SELECT q.at, ST_Transform(q.geom, {WGS84}) AS pt, q.accuracy_m
    FROM gridmap_position q
    WHERE q.device_id = d.id AND q.at < b.first_at
      AND q.at >= b.first_at - make_interval(secs => %(window)s) AND q.flag = ''
    ORDER BY q.at DESC LIMIT 1
) p ON true
ORDER BY d.id
FOR UPDATE OF d
"""

# The fixes in (already in the storage CRS: projected in Python, in one vectorised call),
# duplicates skipped; then each device's last fix time and each team's newest good position
# (chosen in Python among the batch's good fixes; applied only when newer than the team's, so a
# duplicate re-applies nothing). One statement: one round trip. It answers how many rows went
# in and, only when some did not (duplicates), which did.
_INSERT_SQL = f"""
WITH ins AS (
    INSERT INTO gridmap_position (device_id, at, team_id, geom, speed_kmh, heading, accuracy_m,
                                  flag, received_at)
    SELECT device_id, at, team_id, ST_SetSRID(ST_MakePoint(x, y), {STORAGE_SRID}),
           speed_kmh, heading, accuracy_m, flag, %(now)s
    FROM unnest(%(device)s::bigint[], %(at)s::timestamptz[], %(team)s::bigint[],
                %(x)s::float8[], %(y)s::float8[], %(speed)s::float8[],
                %(heading)s::float8[], %(accuracy)s::float8[], %(flag)s::text[])
        AS t(device_id, at, team_id, x, y, speed_kmh, heading, accuracy_m, flag)
    ON CONFLICT (device_id, at) DO NOTHING
    RETURNING device_id, at
), dev AS (
    UPDATE gridmap_device d SET last_fix_at = GREATEST(d.last_fix_at, m.at)
    FROM (SELECT device_id, max(at) AS at FROM ins GROUP BY device_id) m
    WHERE d.id = m.device_id
), team AS (
    UPDATE gridmap_team t
    SET position_geom = ST_SetSRID(ST_MakePoint(n.x, n.y), {STORAGE_SRID}), position_at = n.at
    FROM unnest(%(team_id)s::bigint[], %(team_at)s::timestamptz[], %(team_x)s::float8[],
                %(team_y)s::float8[]) AS n(team_id, at, x, y)
    WHERE t.id = n.team_id AND (t.position_at IS NULL OR t.position_at < n.at)
)
SELECT count(*)::int,
       CASE WHEN count(*) < %(n)s THEN array_agg(device_id) END,
       CASE WHEN count(*) < %(n)s THEN array_agg(at) END
FROM ins
"""


def _cursor() -> psycopg.Cursor:
    # Server-side binding and prepared statements (as the geocoder and intake): the statements
    # are planned once per connection, not on every batch.
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


# --- The service ------------------------------------------------------------------------------


def positions_ingest(*, user, fixes, now: datetime | None = None) -> IngestResult:
    """Check and store a batch of GPS fixes posted by ``user`` (a device's account).

    ``fixes``: a list of objects ``{"unit", "time" (ISO 8601 with offset), "lon", "lat",
    "srs" ("wgs84" default, "gcj02", "bd09" or an EPSG code of a geographic CRS),
    "speed_kmh"?, "heading"? (degrees clockwise from north), "accuracy_m"?}``. Stored in the
    storage CRS (``GRIDMAP_SRID``). Raises ``BatchRefused`` (nothing stored) for a batch that is
    not a list, is too long, or names units that are unknown, not the user's, or deactivated.
    Returns the counts and, per fix that was not simply accepted, its index and reason.
    All or nothing: the fixes, the device and team updates and the geofence events commit
    together.
    """
    now = now or timezone.now()
    if not isinstance(fixes, list):
        raise BatchRefused(400, "fixes", _("fixes must be a list of fixes."))
    if not fixes:
        raise BatchRefused(400, "fixes", _("fixes is empty."))
    if len(fixes) > MAX_BATCH:
        raise BatchRefused(
            400,
            "fixes",
            _("A batch holds at most %(max)d fixes; this one has %(n)d.")
            % {"max": MAX_BATCH, "n": len(fixes)},
        )
    result = IngestResult()
    problems = result.problems
    parsed: list[Fix] = []
    srs_of: list = []
    for index, raw in enumerate(fixes):
        try:
            fix, srs = fix_parse(index, raw, now=now)
        except Rejected as r:
            problems.append(problem(index, "rejected", r.reason, r.message))
            continue
        parsed.append(fix)
        srs_of.append(srs)

    # Units are checked before anything else is: one bad unit refuses the whole batch.
    first_at: dict[str, datetime] = {}
    for fix in parsed:
        if fix.unit not in first_at or fix.at < first_at[fix.unit]:
            first_at[fix.unit] = fix.at
    good = fixes_to_wgs84(parsed, srs_of, problems)
    fixes_project(good)
    # Outermost: the transaction may end with the insert (COMMIT sent with it). Inside a
    # caller's transaction (tests), the caller commits.
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        connection.ensure_connection()
        # Round trip 1: BEGIN, the devices (locked) and the fence query, in pipeline mode.
        with connection.connection.pipeline():
            found = _devices_start(first_at)
            check = (
                fences.fences_start(
                    units=[f.unit for f in good], x=[f.x for f in good], y=[f.y for f in good]
                )
                if good
                else None
            )
        devices = _devices_read(found, user, first_at)
        fixes_flag_outside(good)
        by_unit: dict[str, list[Fix]] = defaultdict(list)
        seen: set[tuple[str, datetime]] = set()
        for fix in good:
            key = (fix.unit, fix.at)
            if key in seen:
                problems.append(
                    problem(
                        fix.index,
                        "duplicate",
                        "duplicate",
                        _("A fix of %(unit)s at %(at)s came earlier in this batch.")
                        % {"unit": fix.unit, "at": fix.at.isoformat()},
                    )
                )
                continue
            seen.add(key)
            if not fix.flag and fix.accuracy_m is not None and fix.accuracy_m > MAX_ACCURACY_M:
                fix.flag = FLAG_INACCURATE
                fix.message = _("Accuracy %(acc).0f m is worse than %(max).0f m.") % {
                    "acc": fix.accuracy_m,
                    "max": MAX_ACCURACY_M,
                }
            device = devices[fix.unit]
            fix.device_id, fix.team_id = device.id, device.team_id
            by_unit[fix.unit].append(fix)
        ordered: list[Fix] = []
        for unit, unit_fixes in by_unit.items():
            unit_fixes.sort(key=lambda f: f.at)
            fixes_flag_speed(unit_fixes, devices[unit].previous)
            ordered += unit_fixes
        plan = None
        if check is not None:
            plan = fences.fences_plan(check, fixes=_judged(good, ordered, devices))
        # Round trip 2: the insert, and when nothing else is to be written, the COMMIT.
        commit_now = outermost and (plan is None or not plan.writes)
        with connection.connection.pipeline():
            inserted = _insert_start(ordered, now=now) if ordered else None
            if commit_now:
                _cursor().execute("COMMIT")  # Django's own commit then finds nothing to do
        stored = _stored(inserted, ordered)
        if plan is not None and plan.writes:
            result.fence_events = fences.fences_apply(plan, reporter=user)
        for fix in ordered:
            if (fix.device_id, fix.at) not in stored:
                problems.append(
                    problem(
                        fix.index,
                        "duplicate",
                        "duplicate",
                        _("%(unit)s already sent a fix at %(at)s.")
                        % {"unit": fix.unit, "at": fix.at.isoformat()},
                    )
                )
            elif fix.flag:
                result.flagged += 1
                problems.append(problem(fix.index, "flagged", fix.flag, fix.message))
            else:
                result.accepted += 1
    result.rejected = sum(1 for p in problems if p["status"] == "rejected")
    result.duplicates = sum(1 for p in problems if p["status"] == "duplicate")
    return result


@dataclass(frozen=True)
class _Device:
    id: int
    team_id: int | None
    vehicle_id: int | None
    vehicle_kind: str | None
    last_fix_at: datetime | None
    previous: tuple | None


def _devices_start(first_at: dict[str, datetime]) -> psycopg.Cursor | None:
    """Send the lookup (and lock) of the batch's devices; ``_devices_read`` reads it."""
    if not first_at:
        return None
    units = sorted(first_at)
    return _cursor().execute(
        _DEVICES_SQL,
        {"units": units, "first": [first_at[u] for u in units], "window": SPEED_CHECK_WINDOW_S},
        prepare=True,
    )


def _devices_read(cursor, user, first_at: dict[str, datetime]) -> dict[str, _Device]:
    """The batch's devices by unit id, locked; refuses the batch for unknown units (422) and
    for units that are not ``user``'s or are deactivated (403)."""
    if cursor is None:
        return {}
    units = sorted(first_at)
    rows = cursor.fetchall()
    found = {}
    foreign, inactive = [], []
    for (
        device_id,
        unit,
        user_id,
        active,
        team_id,
        vehicle_id,
        vehicle_kind,
        last_fix_at,
        prev_at,
        prev_lon,
        prev_lat,
        prev_accuracy,
    ) in rows:
        if user_id != user.pk:
            foreign.append(unit)
        elif not active:
            inactive.append(unit)
        previous = None if prev_at is None else (prev_at, prev_lon, prev_lat, prev_accuracy)
        found[unit] = _Device(device_id, team_id, vehicle_id, vehicle_kind, last_fix_at, previous)
    unknown = [u for u in units if u not in found]
    if unknown:
        raise BatchRefused(
            422,
            "unit",
            _("Unknown unit(s): %(units)s. Nothing was stored.")
            % {"units": ", ".join(repr(u) for u in unknown[:20])},
        )
    if foreign:
        raise BatchRefused(
            403,
            "unit",
            _(
                "Unit(s) %(units)s do not belong to this account; a device posts only its own "
                "fixes. Nothing was stored."
            )
            % {"units": ", ".join(repr(u) for u in foreign[:20])},
        )
    if inactive:
        raise BatchRefused(
            403,
            "unit",
            _("Unit(s) %(units)s are deactivated. Nothing was stored.")
            % {"units": ", ".join(repr(u) for u in inactive[:20])},
        )
    return found


def _judged(good: list[Fix], ordered: list[Fix], devices: dict) -> list[tuple[int, object]]:
    """The fixes the geofences judge, with their index in ``good`` (the fence query's order):
    good (not flagged, not repeated) fixes of vehicles, newer than anything the vehicle sent
    before (a late backlog is stored, not judged; and a fix newer than the device's last one
    cannot be a duplicate of a stored one)."""
    kept = {id(f) for f in ordered}
    out = []
    for k, fix in enumerate(good):
        device = devices[fix.unit]
        if (
            id(fix) in kept
            and not fix.flag
            and device.vehicle_id is not None
            and (device.last_fix_at is None or fix.at > device.last_fix_at)
        ):
            out.append(
                (
                    k,
                    fences.VehicleFix(
                        vehicle_id=device.vehicle_id,
                        vehicle_kind=device.vehicle_kind,
                        at=fix.at,
                        lon=fix.lon,
                        lat=fix.lat,
                    ),
                )
            )
    return out


def _literal(values) -> str:
    """A PostgreSQL array literal of numbers, ISO times or flags (none of which needs quoting;
    an empty flag comes as ``""``), cast by the statement. Building the text here costs a
    tenth of what dumping Python lists element by element does, for a batch's 1,300 values."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def _stored(cursor, fixes: list[Fix]) -> set[tuple[int, datetime]]:
    """The (device id, time) of the fixes the insert stored."""
    if cursor is None:
        return set()
    count, devices, times = cursor.fetchone()
    if count == len(fixes):
        return {(f.device_id, f.at) for f in fixes}
    return set(zip(devices or [], times or [], strict=True))


def _insert_start(fixes: list[Fix], *, now: datetime) -> psycopg.Cursor:
    """Send the one INSERT … SELECT FROM unnest of the batch; the cursor then answers the
    (device id, time) of the rows stored (a fix already stored is skipped by the primary
    key)."""
    newest: dict[int, int] = {}
    for k, fix in enumerate(fixes):
        if not fix.flag and fix.team_id is not None:
            best = newest.get(fix.team_id)
            if best is None or fixes[best].at < fix.at:
                newest[fix.team_id] = k
    team_rows = list(newest.values())
    params = {
        "device": _literal(f.device_id for f in fixes),
        "at": _literal(f.at.isoformat() for f in fixes),
        "team": _literal(f.team_id for f in fixes),
        "x": _literal(f.x for f in fixes),
        "y": _literal(f.y for f in fixes),
        "speed": _literal(f.speed_kmh for f in fixes),
        "heading": _literal(f.heading for f in fixes),
        "accuracy": _literal(f.accuracy_m for f in fixes),
        "flag": _literal(f.flag or '""' for f in fixes),
        "now": now,
        "n": len(fixes),
        "team_id": _literal(newest),
        "team_at": _literal(fixes[k].at.isoformat() for k in team_rows),
        "team_x": _literal(fixes[k].x for k in team_rows),
        "team_y": _literal(fixes[k].y for k in team_rows),
    }
    return _cursor().execute(_INSERT_SQL, params, prepare=True)
