"""Vehicle geofences (电子围栏): approved routes of muck trucks (渣土车) and restricted zones.

Which fences apply to a vehicle: those linked to it; a fence linked to no vehicle applies to
every vehicle of its ``vehicle_kind`` (empty: every vehicle). Rules, checked on each good fix of
a vehicle (in time order):

- **restricted zone** (kind ``restricted``): being inside it during its hours (``active_from`` to
  ``active_to`` local time, past midnight when ``active_to`` <= ``active_from``; no hours: all
  day) is a violation of that zone;
- **approved route** (kind ``route``: a corridor polygon): a vehicle with routes that apply to it
  must be inside one (or within its ``buffer_m``, default ``GRIDMAP_ROUTE_BUFFER_M``) that is
  approved at that hour (a route's hours are when it may be used, e.g.
  22:00–06:00 for night-time muck transport; no hours: always). Outside all of them it is off
  route; the event names the nearest of its routes.

Debounce: a violation raises one ``GeofenceEvent`` when it begins and closes it (``ended_at``)
at the first fix back within the rules; while it lasts nothing more is written. The database
enforces one open event per vehicle and fence (a partial unique index), so two batches racing
cannot open two. When the fence has a ``case_category``, the new event also files a case
through ``cases.services.case_report`` (source ``device``, reported by the device's account).

Cost per batch: one spatial query (the fixes against the fences, through the GiST index,
together with the vehicles' open events), sent by the fix intake together with its device
lookup; writes only when a violation begins or ends.
The fence rules themselves are cached per process for ``TTL_S`` seconds (and dropped when a
fence is saved in this process).
"""

import logging
import threading
import time as monotonic_time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext as _

from gridmap.models import STORAGE_SRID, WGS84, Geofence, GeofenceEvent, Vehicle

from ..shifts import local_time, within_hours

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VehicleFix:
    """A good fix of a vehicle, WGS-84 degrees."""

    vehicle_id: int
    vehicle_kind: str | None
    at: datetime
    lon: float
    lat: float


@dataclass(frozen=True)
class FenceRule:
    id: int
    code: str
    name: str
    kind: str
    vehicle_kind: str
    vehicle_ids: frozenset
    active_from: time | None
    active_to: time | None
    case_category: str

    def applies_to(self, vehicle_id: int, vehicle_kind: str | None) -> bool:
        if self.vehicle_ids:
            return vehicle_id in self.vehicle_ids
        return not self.vehicle_kind or self.vehicle_kind == vehicle_kind

    def active_at(self, at: datetime) -> bool:
        return within_hours(at, self.active_from, self.active_to)

    def __str__(self) -> str:
        return self.name or self.code


class _FenceRules:
    TTL_S = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[int, FenceRule] = {}
        self._until = 0.0

    def clear(self, **kwargs) -> None:
        self._until = 0.0

    def get(self) -> dict[int, FenceRule]:
        now = monotonic_time.monotonic()
        if now < self._until:
            return self._rules
        links = defaultdict(set)
        for fence_id, vehicle_id in Geofence.vehicles.through.objects.values_list(
            "geofence_id", "vehicle_id"
        ):
            links[fence_id].add(vehicle_id)
        rules = {
            f.id: FenceRule(
                f.id,
                f.code,
                f.name,
                f.kind,
                f.vehicle_kind,
                frozenset(links.get(f.id, ())),
                f.active_from,
                f.active_to,
                f.case_category,
            )
            for f in Geofence.objects.filter(
                kind__in=[Geofence.Kind.ROUTE, Geofence.Kind.RESTRICTED]
            ).only(
                "id",
                "code",
                "name",
                "kind",
                "vehicle_kind",
                "active_from",
                "active_to",
                "case_category",
            )
        }
        with self._lock:
            self._rules, self._until = rules, now + self.TTL_S
        return rules


fence_rules = _FenceRules()
post_save.connect(fence_rules.clear, sender=Geofence, dispatch_uid="tracking-fence-save")
post_delete.connect(fence_rules.clear, sender=Geofence, dispatch_uid="tracking-fence-delete")
m2m_changed.connect(
    fence_rules.clear, sender=Geofence.vehicles.through, dispatch_uid="tracking-fence-links"
)

# The fixes of the batch's vehicle units against the fences (GiST), and those vehicles' open
# events, in one query, sent with the intake's device lookup (one round trip). ``ord`` is the
# fix's 1-based position in the arrays; the points come in the storage CRS.
_CHECK_SQL = f"""
WITH f AS (
    SELECT ord, unit, ST_SetSRID(ST_MakePoint(x, y), {STORAGE_SRID}) AS pt
    FROM unnest(%(unit)s::text[], %(x)s::float8[], %(y)s::float8[]) WITH ORDINALITY
        AS u(unit, x, y, ord)
), v AS (
    SELECT unit_id, vehicle_id FROM gridmap_device
    WHERE unit_id = ANY(%(units)s::text[]) AND vehicle_id IS NOT NULL
)
SELECT 'hit'::text, f.ord, g.id, NULL::bigint, NULL::text
FROM f JOIN v ON v.unit_id = f.unit
JOIN gridmap_geofence g
  ON ST_DWithin(g.geom, f.pt,
                CASE WHEN g.kind = 'route' THEN COALESCE(g.buffer_m, %(buffer)s) ELSE 0 END)
WHERE g.id = ANY(%(fences)s::bigint[])
UNION ALL
SELECT 'open'::text, e.vehicle_id, e.geofence_id, e.id, e.kind::text
FROM gridmap_geofenceevent e JOIN v ON v.vehicle_id = e.vehicle_id
WHERE e.ended_at IS NULL
"""

_OPEN_SQL = f"""
INSERT INTO gridmap_geofenceevent (geofence_id, vehicle_id, kind, at, geom, ended_at)
VALUES (%(fence)s, %(vehicle)s, %(kind)s, %(at)s,
        ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {WGS84}), {STORAGE_SRID}),
        %(ended_at)s)
ON CONFLICT (vehicle_id, geofence_id) WHERE ended_at IS NULL DO NOTHING
RETURNING id
"""

_NEAREST_SQL = f"""
SELECT id FROM gridmap_geofence WHERE id = ANY(%(ids)s::bigint[])
ORDER BY geom <-> ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {WGS84}),
                                {STORAGE_SRID})
LIMIT 1
"""


@dataclass
class _Opening:
    kind: str
    fence_ids: list[int]
    fix: VehicleFix
    ended_at: datetime | None = None


@dataclass
class FenceCheck:
    """The check sent to the database by ``fences_start``, its answer read by ``fences_plan``."""

    rules: dict[int, FenceRule]
    cursor: psycopg.Cursor


@dataclass
class FencePlan:
    """What a batch changes: events to open (with their first fix, and an end when the
    violation ended within the batch) and open events to close (id, end time)."""

    rules: dict[int, FenceRule]
    openings: list[_Opening]
    closings: list[tuple[int, datetime]]

    @property
    def writes(self) -> bool:
        return bool(self.openings or self.closings)


def fences_start(*, units: list[str], x: list[float], y: list[float]) -> FenceCheck | None:
    """Send the fence query for a batch's fixes (unit ids and storage-CRS coordinates, in the
    order ``fences_plan`` will refer to by index) without reading its answer, so that the
    caller sends it in pipeline mode with its own statements. Only the fixes of units mounted
    in a vehicle are matched. None when there are no fences at all."""
    rules = fence_rules.get()
    if not rules:
        return None
    cursor = psycopg.Cursor(connection.connection)
    cursor.execute(
        _CHECK_SQL,
        {
            "unit": units,
            "x": x,
            "y": y,
            "units": sorted(set(units)),
            "fences": sorted(rules),
            "buffer": float(getattr(settings, "GRIDMAP_ROUTE_BUFFER_M", 30.0)),
        },
        prepare=True,
    )
    return FenceCheck(rules, cursor)


def fences_plan(check: FenceCheck, *, fixes: list[tuple[int, VehicleFix]]) -> FencePlan:
    """Read the answer of ``fences_start`` and decide, for the judged fixes ((index in the
    arrays sent, fix) of vehicles, good and new), which events open and which close (the
    rules in the module docstring). Writes nothing."""
    rules = check.rules
    inside: dict[int, set[int]] = defaultdict(set)
    # vehicle → fence → (kind, the open event's id, or the _Opening of this batch)
    state_of: dict[int, dict[int, tuple[str, object]]] = defaultdict(dict)
    for what, a, fence_id, event_id, kind in check.cursor.fetchall():
        if what == "hit":
            inside[a - 1].add(fence_id)
        else:
            state_of[a][fence_id] = (kind, event_id)
    openings: list[_Opening] = []
    closings: list[tuple[int, datetime]] = []

    def close(state: dict, fence_id: int, at: datetime) -> None:
        _, open_one = state.pop(fence_id)
        if isinstance(open_one, _Opening):
            open_one.ended_at = at
        else:
            closings.append((open_one, at))

    by_vehicle: dict[int, list[tuple[int, VehicleFix]]] = defaultdict(list)
    for k, fix in fixes:
        by_vehicle[fix.vehicle_id].append((k, fix))
    for vehicle_id, mine in by_vehicle.items():
        applying = [r for r in rules.values() if r.applies_to(vehicle_id, mine[0][1].vehicle_kind)]
        routes = [r for r in applying if r.kind == Geofence.Kind.ROUTE]
        restricted = [r for r in applying if r.kind == Geofence.Kind.RESTRICTED]
        state = state_of[vehicle_id]
        for k, fix in sorted(mine, key=lambda kf: kf[1].at):
            here = inside[k]
            broken = {r.id for r in restricted if r.id in here and r.active_at(fix.at)}
            for fence_id in sorted(broken - set(state)):
                opening = _Opening(GeofenceEvent.Kind.RESTRICTED, [fence_id], fix)
                openings.append(opening)
                state[fence_id] = (GeofenceEvent.Kind.RESTRICTED, opening)
            for fence_id, (kind, _open_one) in list(state.items()):
                if kind == GeofenceEvent.Kind.RESTRICTED and fence_id not in broken:
                    close(state, fence_id, fix.at)
            if not routes:
                continue
            approved = [r for r in routes if r.active_at(fix.at)]
            off = not any(r.id in here for r in approved)
            off_open = [fid for fid, (kind, _o) in state.items() if kind == "off_route"]
            if off and not off_open:
                opening = _Opening(GeofenceEvent.Kind.OFF_ROUTE, [r.id for r in routes], fix)
                openings.append(opening)
                # Keyed apart from real fence ids until the nearest route is known.
                state[-len(openings)] = (GeofenceEvent.Kind.OFF_ROUTE, opening)
            elif not off:
                for fence_id in off_open:
                    close(state, fence_id, fix.at)
    return FencePlan(rules, openings, closings)


def fences_apply(plan: FencePlan, *, reporter) -> list[int]:
    """Write a plan inside the caller's transaction: close the events that ended, open the new
    ones (a new one another batch opened first is skipped) and file the cases their fences
    ask for (source ``device``, reported by ``reporter``). Returns the ids of the events
    opened."""
    for event_id, at in plan.closings:
        GeofenceEvent.objects.filter(pk=event_id, ended_at__isnull=True).update(ended_at=at)
    return [
        event_id
        for opening in plan.openings
        if (event_id := _open(opening, plan.rules, reporter=reporter)) is not None
    ]


def _open(opening: _Opening, rules: dict[int, FenceRule], *, reporter) -> int | None:
    """Write one new event (and its case); None when another batch opened it first."""
    cursor = psycopg.Cursor(connection.connection)
    fix = opening.fix
    fence_id = opening.fence_ids[0]
    if len(opening.fence_ids) > 1:
        fence_id = cursor.execute(
            _NEAREST_SQL, {"ids": opening.fence_ids, "lon": fix.lon, "lat": fix.lat}
        ).fetchone()[0]
    row = cursor.execute(
        _OPEN_SQL,
        {
            "fence": fence_id,
            "vehicle": fix.vehicle_id,
            "kind": opening.kind,
            "at": fix.at,
            "lon": fix.lon,
            "lat": fix.lat,
            "ended_at": opening.ended_at,
        },
    ).fetchone()
    if row is None:
        return None
    event_id = row[0]
    rule = rules[fence_id]
    if rule.case_category:
        case_id = _file_case(opening.kind, rule, fix, reporter=reporter)
        if case_id is not None:
            GeofenceEvent.objects.filter(pk=event_id).update(case_id=case_id)
    return event_id


def _file_case(kind: str, rule: FenceRule, fix: VehicleFix, *, reporter) -> int | None:
    """File the case a fence asks for; a refusal (unknown category, outside the district) is
    logged and leaves the event without a case rather than losing the batch."""
    from cases.services import IntakeError, case_report

    vehicle = Vehicle.objects.filter(pk=fix.vehicle_id).first()
    params = {
        "vehicle": str(vehicle) if vehicle else fix.vehicle_id,
        "fence": str(rule),
        "time": local_time(fix.at).strftime("%H:%M"),
    }
    if kind == GeofenceEvent.Kind.OFF_ROUTE:
        description = _("Vehicle %(vehicle)s left its approved route %(fence)s at %(time)s.")
    else:
        description = _("Vehicle %(vehicle)s entered the restricted zone %(fence)s at %(time)s.")
    try:
        with transaction.atomic():
            case = case_report(
                source="device",
                category_code=rule.case_category,
                lon=fix.lon,
                lat=fix.lat,
                reported_at=fix.at,
                reporter=reporter,
                description=description % params,
            )
    except IntakeError as exc:
        log.warning(
            "geofence %s: no case filed for vehicle %s at %s: %s",
            rule.code,
            fix.vehicle_id,
            fix.at.isoformat(),
            exc.message,
        )
        return None
    return case.pk
