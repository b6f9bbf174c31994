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

from .graph import Search, Snap, graph_for
from .selectors import PoolTeam, network_version, team_pool

AVAILABLE_STATUSES = frozenset({"available", "returning"})
BUSY_STATUSES = frozenset({"responding", "on_scene"})
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
    #: Where the estimate starts (storage CRS), the team's snap and how the search reached it.
    start: tuple[float, float] | None = field(default=None, repr=False)
    snap: Snap | None = field(default=None, repr=False)
    option: int = field(default=-1, repr=False)
    #: ``position_at`` in seconds since the epoch (turned into a datetime for the chosen only).
    position_epoch: float | None = field(default=None, repr=False)

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
    fresh_after = now.timestamp() - settings.GRIDMAP_POSITION_FRESH_S
    candidates = [
        _candidate(team, fresh_after)
        for team in pool
        if (ruled or team.covers) and team.status != "off_duty" and on_shift(team.shifts, now)
    ]
    version, current = state or network_version()
    result = Recommendation(case.pk, now, answer.department_id, [], len(candidates))
    result.network_current = current
    if not candidates:
        result.message = _no_team_message(pool, ruled, answer.department_id)
        result.escalated = _alert_shift_leaders(case, result.message, now)
        return result
    search = _estimate(candidates, x, y, version)
    result.candidates = _top(candidates, top, (x, y), search)
    return result


def _candidate(team: PoolTeam, fresh_after: float) -> Candidate:
    """A candidate from a team as read; ``fresh_after``: the oldest fix (epoch seconds) that
    still counts as the team's position."""
    fresh = (
        team.position is not None
        and team.position_at is not None
        and team.position_at >= fresh_after
    )
    if fresh:
        origin, start = "position", team.position
    elif team.base is not None:
        origin, start = "base", team.base
    elif team.position is not None:
        origin, start = "stale_position", team.position
    else:
        origin, start = "none", None
    return Candidate(
        team_id=team.id,
        team_code=team.code,
        team_name=team.name,
        status=team.status,
        available=team.status in AVAILABLE_STATUSES,
        queue=team.queue,
        origin=origin,
        position_epoch=team.position_at,
        start=start,
    )


def _fallback_mps() -> float:
    return settings.GRIDMAP_FALLBACK_SPEED_KMH / 3.6


def _estimate(candidates: list[Candidate], x: float, y: float, version: tuple) -> Search | None:
    """ETA of every candidate: one network search for those with a fresh position, a straight
    line for the rest (and for those the network cannot bring there). Returns the search."""
    speed = _fallback_mps()
    routed = [c for c in candidates if c.origin == "position"]
    search = None
    if routed:
        graph = graph_for(version)
        if not graph.empty:
            # One index query snaps the case and every team; one search serves them all.
            starts = np.array([(x, y)] + [c.start for c in routed])
            snaps = graph.snap(starts[:, 0], starts[:, 1])
            search = graph.to_target(snaps[0])
            for c, snap in zip(routed, snaps[1:], strict=True):
                c.snap = snap
            road_s, options = search.times_from(
                np.array([s.edge for s in snaps[1:]], dtype=np.int64),
                np.array([s.fraction for s in snaps[1:]]),
            )
            legs_s = (np.array([s.offset_m for s in snaps[1:]]) + snaps[0].offset_m) / speed
            for c, t, leg, option in zip(
                routed, road_s.tolist(), legs_s.tolist(), options.tolist(), strict=True
            ):
                if t != math.inf:
                    c.method, c.option, c.eta_s = NETWORK, option, leg + t
    for c in candidates:
        if c.method == NETWORK:
            continue
        if c.start is None:
            c.reason = _("no position and no base: cannot estimate")
            continue
        if c.snap is not None:
            c.reason = _("no road path from the team to the case")
        elif c.origin == "position":
            c.reason = _("no road network built yet")
        elif c.origin == "base":
            c.reason = _("no fresh position: estimated from the team's base")
        else:
            c.reason = _("no fresh position: estimated from its last known position")
        c.distance_m = math.hypot(c.start[0] - x, c.start[1] - y)
        c.eta_s = c.distance_m / speed
        c.coords = np.array([c.start, (x, y)])
    return search


def _top(candidates: list[Candidate], top: int, case_xy, search: Search | None) -> list[Candidate]:
    """The best ``top`` candidates. Routes (length and geometry) are drawn only for those that
    can make the list: the first ``top`` by ``time_key``, and any tied with the last of them
    (chosen with numpy: sorting 200 Python tuples cost more than the search)."""
    window = candidates
    if len(candidates) > top:
        group = np.array([0 if c.available else 1 for c in candidates])
        queue = np.array([0 if c.available else c.queue for c in candidates])
        eta = np.array([math.inf if c.eta_s is None else c.eta_s for c in candidates])
        k = np.lexsort((eta, queue, group))[top - 1]
        # A little slack on the ETA: ties are settled below on rounded values.
        within = (group < group[k]) | (
            (group == group[k])
            & ((queue < queue[k]) | ((queue == queue[k]) & (eta <= eta[k] + 0.06)))
        )
        window = [c for c, keep in zip(candidates, within.tolist(), strict=True) if keep]
    for c in window:
        if c.method == NETWORK:
            route = search.route(c.snap, c.option)
            c.distance_m = float(c.snap.offset_m + route.length_m + search.case.offset_m)
            c.coords = np.vstack([[c.start], route.coords, [case_xy]])
    window.sort(key=Candidate.sort_key)
    chosen = window[:top]
    for rank, c in enumerate(chosen, 1):
        c.rank = rank
        if c.position_epoch is not None:
            c.position_at = datetime.fromtimestamp(c.position_epoch, tz=UTC)
    return chosen


def _no_team_message(pool: list[PoolTeam], ruled: bool, department_id: int | None) -> str:
    """Why nobody can be sent, in words a dispatcher can act on."""
    if department_id is None and not ruled:
        return _("No team can be sent: the case has no responsible department.")
    name = Department.objects.filter(pk=department_id).values_list("name", flat=True).first()
    who = _("the teams named by the responsibility rule") if ruled else (name or "?")
    if not pool:
        return _("No team can be sent: %(who)s has no field teams.") % {"who": who}
    covering = pool if ruled else [t for t in pool if t.covers]
    if not covering:
        return _(
            "No team can be sent: none of the %(n)d teams of %(who)s has a jurisdiction "
            "covering this place."
        ) % {"n": len(pool), "who": who}
    return _(
        "No team can be sent: %(n)d team(s) of %(who)s cover this place, but none is on shift "
        "and on duty now."
    ) % {"n": len(covering), "who": who}


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
