"""Which team to send (派遣推荐): the responsible teams ranked by travel time over the roads.

Who is eligible (cases/responsibility.py says who answers for the case):

- a team of the responsible department whose jurisdiction zone covers the case — or, when a
  per-community responsibility rule names teams, exactly those teams;
- on shift at the moment (its ``ShiftPlan``; a team without a plan works around the clock) and
  not off duty;
- *available* (also *returning*: back from a job, nothing open) teams first; *busy* ones
  (responding, on scene) after them, with their queue (open tasks), fewest first.

How they are ranked: travel time (ETA, seconds) over the road network (dispatch/graph.py) from
the team's latest position, if it is fresh (``GRIDMAP_POSITION_FRESH_S``), snapped to the nearest
road, to the case snapped likewise; the legs between a point and its road count at
``GRIDMAP_FALLBACK_SPEED_KMH``. A team without a fresh position is estimated from its base (or,
without one, its last known position) in a straight line at that speed, and so is a team with
no road path to the case (another piece of the network, or no network yet); the candidate says
so (``method`` "straight_line" and a ``reason``). Ties (ETA equal to 0.1 s) go to the shorter
distance, then to the team code, so that the same question always gets the same answer.

No eligible team: an empty list, a message saying why, and the shift leaders (值班长) are told
(once per case within ``NO_TEAM_REPEAT``) through the inbox and the console.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from pyproj import Transformer

from cases import notify
from cases.models import Notification
from cases.responsibility import responsibility_for
from gridmap.models import STORAGE_SRID, Department, User
from tracking.shifts import on_shift

from .graph import Search, graph_for
from .selectors import Pool, network_version, team_pool

AVAILABLE_STATUSES = frozenset({"available", "returning"})
#: A case without an eligible team alerts the shift leaders at most this often.
NO_TEAM_REPEAT = timedelta(minutes=10)
NETWORK, STRAIGHT_LINE = "network", "straight_line"

_to_wgs84 = Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True)


@dataclass
class Candidate:
    """One team of the recommendation, with its estimate and how it was made."""

    team_id: int
    team_code: str
    team_name: str
    status: str
    available: bool
    queue: int
    #: Where the estimate starts: "position" (fresh fix), "base", "stale_position", or "none".
    origin: str
    position_at: datetime | None = None
    method: str = STRAIGHT_LINE
    reason: str = ""
    eta_s: float | None = None
    distance_m: float | None = None
    rank: int = 0
    #: The route (storage CRS), from the team to the case.
    coords: np.ndarray | None = field(default=None, repr=False)
    #: Where the estimate starts (storage CRS).
    start: tuple[float, float] | None = field(default=None, repr=False)

    def time_key(self) -> tuple:
        """Available before busy, busy by queue, then ETA (to 0.1 s)."""
        eta = math.inf if self.eta_s is None else round(self.eta_s, 1)
        return (0 if self.available else 1, 0 if self.available else self.queue, eta)

    def sort_key(self) -> tuple:
        """The ranking: ``time_key``, then distance (to 0.1 m), then the team code."""
        distance = math.inf if self.distance_m is None else round(self.distance_m, 1)
        return (*self.time_key(), distance, self.team_code)

    def route_geojson(self) -> dict | None:
        """The route as a GeoJSON LineString in WGS-84 (7 decimals, ~1 cm)."""
        if self.coords is None or len(self.coords) < 2:
            return None
        lon, lat = _to_wgs84.transform(self.coords[:, 0], self.coords[:, 1])
        return {
            "type": "LineString",
            "coordinates": [[round(a, 7), round(b, 7)] for a, b in zip(lon, lat, strict=True)],
        }


@dataclass
class Recommendation:
    """The answer for one case: the top candidates, best first (``candidates``), and a message
    when there are none (``escalated``: the shift leaders were told)."""

    case_id: int
    at: datetime
    department_id: int | None
    candidates: list[Candidate]
    eligible: int
    message: str = ""
    escalated: bool = False
    network_current: bool = True


def recommend(case, *, now: datetime | None = None, top: int | None = None) -> Recommendation:
    """Rank the teams that may be sent to ``case`` (see the module docstring); the best
    ``top`` (default ``GRIDMAP_RECOMMEND_TOP_N``). Writes only when no team is eligible (the
    shift leaders' notification)."""
    now = now or timezone.now()
    top = top or settings.GRIDMAP_RECOMMEND_TOP_N
    answer = responsibility_for(case)
    geom = case.geom
    if geom.srid != STORAGE_SRID:  # a case just taken may still hold its WGS-84 point
        geom = geom.transform(STORAGE_SRID, clone=True)
    x, y = geom.x, geom.y
    pool, state = team_pool(x=x, y=y, department_id=answer.department_id, team_ids=answer.team_ids)
    ruled = answer.team_ids is not None
    eligible = _eligible(pool, ruled, now) if pool is not None else np.array([], dtype=np.int64)
    version, current = state or network_version()
    result = Recommendation(case.pk, now, answer.department_id, [], len(eligible))
    result.network_current = current
    if not len(eligible):
        result.message = _no_team_message(pool, ruled, answer.department_id)
        result.escalated = _alert_shift_leaders(case, result.message, now)
        return result
    estimate = _Estimate(pool, eligible, x, y, now, version)
    result.candidates = estimate.top(top)
    return result


def _eligible(pool: Pool, ruled: bool, now: datetime) -> np.ndarray:
    """Positions (in the pool's columns) of the teams that may be sent: covering the case (or
    named by the rule), not off duty, on shift."""
    keep = (pool.covers | ruled) & np.array([s != "off_duty" for s in pool.statuses], dtype=bool)
    for i, plans in pool.shifts.items():
        keep[i] = keep[i] and on_shift(plans, now)
    return np.flatnonzero(keep)


#: How an estimate starts (``Candidate.origin``), by code.
_ORIGINS = ("position", "base", "stale_position", "none")


class _Estimate:
    """ETAs of the eligible teams, as arrays (one entry per eligible team): one network search
    for those with a fresh position, a straight line for the rest and for those the network
    cannot bring there. ``top`` turns the best into ``Candidate`` objects with their routes."""

    def __init__(self, pool: Pool, eligible: np.ndarray, x, y, now: datetime, version) -> None:
        self.pool, self.index, self.case_xy = pool, eligible, (x, y)
        speed = settings.GRIDMAP_FALLBACK_SPEED_KMH / 3.6
        px, py = pool.position_x[eligible], pool.position_y[eligible]
        bx, by = pool.base_x[eligible], pool.base_y[eligible]
        with np.errstate(invalid="ignore"):
            fresh = (
                pool.position_at[eligible] >= now.timestamp() - settings.GRIDMAP_POSITION_FRESH_S
            )
        has_position, has_base = ~np.isnan(px), ~np.isnan(bx)
        fresh &= has_position
        self.origin = np.select([fresh, has_base, has_position], [0, 1, 2], default=3)
        self.start_x = np.select([fresh, has_base], [px, bx], default=px)
        self.start_y = np.select([fresh, has_base], [py, by], default=py)
        n = len(eligible)
        self.eta = np.full(n, np.inf)
        self.network = np.zeros(n, dtype=bool)
        self.option = np.full(n, -1)
        self.search: Search | None = None
        self.graph = None
        routed = np.flatnonzero(fresh)
        self.routed_empty_graph = False
        self.snapped = np.zeros(n, dtype=bool)
        if len(routed):
            graph = graph_for(version)
            if graph.empty:
                self.routed_empty_graph = True
            else:
                self.graph = graph
                # One index query snaps the case and every team; one search serves them all.
                edges, fractions, offsets = graph.snap_arrays(
                    np.concatenate([[x], self.start_x[routed]]),
                    np.concatenate([[y], self.start_y[routed]]),
                )
                self.search = graph.to_target(graph.snap_of(edges[0], fractions[0], offsets[0]))
                road_s, options = self.search.times_from(edges[1:], fractions[1:])
                ok = np.isfinite(road_s)
                legs_s = (offsets[1:] + offsets[0]) / speed
                self.eta[routed[ok]] = (legs_s + road_s)[ok]
                self.network[routed[ok]] = True
                self.option[routed] = options
                self.snapped[routed] = True
                self.snap_edge = np.zeros(n, dtype=np.int64)
                self.snap_fraction = np.zeros(n)
                self.snap_offset = np.zeros(n)
                self.snap_edge[routed] = edges[1:]
                self.snap_fraction[routed] = fractions[1:]
                self.snap_offset[routed] = offsets[1:]
        straight = ~self.network & (self.origin < 3)
        self.distance = np.full(n, np.nan)
        self.distance[straight] = np.hypot(self.start_x[straight] - x, self.start_y[straight] - y)
        self.eta[straight] = self.distance[straight] / speed
        self.available = np.array(
            [pool.statuses[i] in AVAILABLE_STATUSES for i in eligible.tolist()], dtype=bool
        )
        self.queue = np.where(self.available, 0, pool.queue[eligible])

    def top(self, top: int) -> list[Candidate]:
        """The best ``top`` candidates. Routes (length and geometry) are drawn only for those
        that can make the list: the first ``top`` by available, queue and ETA, and any tied
        with the last of them; the final order settles ties on rounded values."""
        group = (~self.available).astype(np.int64)
        window = np.arange(len(self.eta))
        if len(window) > top:
            k = np.lexsort((self.eta, self.queue, group))[top - 1]
            # A little slack on the ETA: ties are settled on rounded values below.
            within = (group < group[k]) | (
                (group == group[k])
                & (
                    (self.queue < self.queue[k])
                    | ((self.queue == self.queue[k]) & (self.eta <= self.eta[k] + 0.06))
                )
            )
            window = np.flatnonzero(within)
        chosen = sorted((self._candidate(j) for j in window.tolist()), key=Candidate.sort_key)
        chosen = chosen[:top]
        for rank, c in enumerate(chosen, 1):
            c.rank = rank
        return chosen

    def _candidate(self, j: int) -> Candidate:
        """Candidate ``j`` (position among the eligible) with its route and reason."""
        pool, i = self.pool, int(self.index[j])
        origin = _ORIGINS[int(self.origin[j])]
        start = None if origin == "none" else (float(self.start_x[j]), float(self.start_y[j]))
        at = pool.position_at[i]
        c = Candidate(
            team_id=pool.ids[i],
            team_code=pool.codes[i],
            team_name=pool.names[i],
            status=pool.statuses[i],
            available=bool(self.available[j]),
            queue=int(self.queue[j]),
            origin=origin,
            position_at=None if np.isnan(at) else datetime.fromtimestamp(float(at), tz=UTC),
            start=start,
        )
        case_xy = self.case_xy
        if self.network[j]:
            c.method = NETWORK
            c.eta_s = float(self.eta[j])
            snap = self.graph.snap_of(self.snap_edge[j], self.snap_fraction[j], self.snap_offset[j])
            route = self.search.route(snap, int(self.option[j]))
            c.distance_m = float(snap.offset_m + route.length_m + self.search.case.offset_m)
            c.coords = np.vstack([[start], route.coords, [case_xy]])
            return c
        if start is None:
            c.reason = _("no position and no base: cannot estimate")
            return c
        if self.snapped[j]:
            c.reason = _("no road path from the team to the case")
        elif origin == "position":
            c.reason = _("no road network built yet")
        elif origin == "base":
            c.reason = _("no fresh position: estimated from the team's base")
        else:
            c.reason = _("no fresh position: estimated from its last known position")
        c.eta_s, c.distance_m = float(self.eta[j]), float(self.distance[j])
        c.coords = np.array([start, case_xy])
        return c


def _no_team_message(pool: Pool | None, ruled: bool, department_id: int | None) -> str:
    """Why nobody can be sent, in words a dispatcher can act on."""
    if department_id is None and not ruled:
        return _("No team can be sent: the case has no responsible department.")
    name = Department.objects.filter(pk=department_id).values_list("name", flat=True).first()
    who = _("the teams named by the responsibility rule") if ruled else (name or "?")
    if pool is None:
        return _("No team can be sent: %(who)s has no field teams.") % {"who": who}
    covering = len(pool) if ruled else int(pool.covers.sum())
    if not covering:
        return _(
            "No team can be sent: none of the %(n)d teams of %(who)s has a jurisdiction "
            "covering this place."
        ) % {"n": len(pool), "who": who}
    return _(
        "No team can be sent: %(n)d team(s) of %(who)s cover this place, but none is on shift "
        "and on duty now."
    ) % {"n": covering, "who": who}


def _alert_shift_leaders(case, message: str, now: datetime) -> bool:
    """Tell the shift leaders (inbox, outbound channels, console) that nobody can be sent,
    unless they were told about this case within ``NO_TEAM_REPEAT``. True when told now."""
    recent = Notification.objects.filter(
        case=case, kind="no_team", created_at__gte=now - NO_TEAM_REPEAT
    ).exists()
    if recent:
        return False
    leaders = User.objects.filter(role=User.Role.SHIFT_LEADER, is_active=True)
    notify.notify(
        leaders,
        kind="no_team",
        case=case,
        title=_("No team to send to case %(number)s") % {"number": case.number},
        body=message,
    )
    notify.publish(notify.CONSOLE_CHANNEL, {"type": "no_team", "case": case.pk, "message": message})
    return True
