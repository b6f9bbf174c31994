"""The road network in process: travel times from many teams to one case in one search.

The network's tables (``NetworkEdge``, built by dispatch/network.py for pgRouting) are read
once per process and kept as arrays, a spatial index of the edges (for snapping points to the
nearest road) and the *reversed* graph as a sparse matrix. One Dijkstra search outwards from the
case over the reversed graph gives every junction's travel time *to* the case, so ranking 200
teams costs one search instead of 200 (pgRouting's many-to-one ``pgr_dijkstra`` does the same
work, but reads the edges through SQL on every call: bench/dispatch.py measures both). The copy
is reloaded when the state row says the network was rebuilt (``NetworkState.built_version``).

Points off the network (a team's GPS fix, a case) are *snapped*: to the nearest point of the
nearest edge, reached by an access leg at ``GRIDMAP_FALLBACK_SPEED_KMH``; from there along the
edge in the directions its one-way rule allows. Times in seconds, lengths in metres, coordinates
in the storage CRS (``GRIDMAP_SRID``, metric).
"""

import math
import threading
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .models import NetworkEdge

#: Costs below this (s) count as this: the sparse matrix drops explicit zeros.
_MIN_COST_S = 1e-6
#: Points within this distance (m) of a road (GPS fixes, cases) are snapped by a bounded
#: search, which is several times faster than an unbounded one; others by an unbounded one.
SNAP_SEARCH_M = 50.0


@dataclass(frozen=True)
class Snap:
    """A point placed on the network: on edge ``edge`` (index) at ``fraction`` of its length
    from its source, ``offset_m`` away from the point itself."""

    edge: int
    fraction: float
    offset_m: float
    x: float
    y: float


@dataclass
class Route:
    """A path from a team's snap to the case's snap: travel time on the roads (s), length (m)
    and the coordinates from the team's snap to the case's (storage CRS)."""

    time_s: float
    length_m: float
    coords: np.ndarray


class Graph:
    """The network as arrays (one per process; see the module docstring)."""

    def __init__(self, version: tuple, rows: list[tuple]) -> None:
        self.version = version
        n = len(rows)
        self.edge_ids = np.array([r[0] for r in rows], dtype=np.int64)
        vertex_ids = sorted({r[1] for r in rows} | {r[2] for r in rows})
        self.vertex_index = {v: i for i, v in enumerate(vertex_ids)}
        self.vertex_count = len(vertex_ids)
        self.source = np.array([self.vertex_index[r[1]] for r in rows], dtype=np.int64)
        self.target = np.array([self.vertex_index[r[2]] for r in rows], dtype=np.int64)
        self.cost = np.array([r[3] for r in rows], dtype=float)
        self.reverse_cost = np.array([r[4] for r in rows], dtype=float)
        self.length = np.array([r[5] for r in rows], dtype=float)
        self.lines = shapely.from_wkb([bytes(r[6]) for r in rows]) if n else np.array([])
        self.tree = shapely.STRtree(self.lines)
        # Per edge its vertices and their positions along it (0..1), for cutting routes.
        self.coords = [shapely.get_coordinates(line) for line in self.lines]
        self.stations = [_stations(c) for c in self.coords]
        self._arcs: dict[tuple[int, int], tuple[int, bool]] = {}
        self.reversed = self._reversed_matrix()

    @property
    def empty(self) -> bool:
        return self.vertex_count == 0

    def _reversed_matrix(self) -> csr_matrix:
        """Arc a→b of the roads (cost c) as b→a; of parallel arcs the fastest, remembered with
        its edge and direction for drawing the route."""
        best: dict[tuple[int, int], float] = {}
        for i in range(len(self.edge_ids)):
            a, b = int(self.source[i]), int(self.target[i])
            if a == b:
                continue
            for (u, v), c, forward in (
                ((a, b), self.cost[i], True),
                ((b, a), self.reverse_cost[i], False),
            ):
                if c < 0:
                    continue
                c = max(float(c), _MIN_COST_S)
                if c < best.get((u, v), math.inf):
                    best[(u, v)] = c
                    self._arcs[(u, v)] = (i, forward)
        if not best:
            return csr_matrix((self.vertex_count, self.vertex_count))
        keys = list(best)
        rows = [v for _, v in keys]
        cols = [u for u, _ in keys]
        return csr_matrix(
            ([best[k] for k in keys], (rows, cols)), shape=(self.vertex_count, self.vertex_count)
        )

    def substring(self, edge: int, start: float, end: float) -> np.ndarray:
        """Coordinates of ``edge`` from fraction ``start`` of its length to ``end`` (reversed
        when ``end`` < ``start``)."""
        coords, stations = self.coords[edge], self.stations[edge]
        lo, hi = (start, end) if start <= end else (end, start)
        inner = coords[(stations > lo) & (stations < hi)]
        part = np.vstack([_at(coords, stations, lo), inner, _at(coords, stations, hi)])
        return part if start <= end else part[::-1]

    # --- snapping --------------------------------------------------------------------------

    def snap_arrays(
        self, xs: np.ndarray, ys: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The nearest point on the network of each point, as arrays: edge index, fraction
        along it, distance (m). Vectorised: one index query for the points near a road, which
        prunes the search, another for any further away."""
        points = shapely.points(xs, ys)
        (which, edges), distances = self.tree.query_nearest(
            points, max_distance=SNAP_SEARCH_M, return_distance=True, all_matches=False
        )
        if len(which) < len(points):
            far = np.setdiff1d(np.arange(len(points)), which)
            (w2, e2), d2 = self.tree.query_nearest(
                points[far], return_distance=True, all_matches=False
            )
            which = np.concatenate([which, far[w2]])
            edges = np.concatenate([edges, e2])
            distances = np.concatenate([distances, d2])
        order = np.argsort(which)
        edges, distances = edges[order], distances[order]
        fractions = shapely.line_locate_point(self.lines[edges], points, normalized=True)
        return edges, fractions, distances

    def snap(self, xs: np.ndarray, ys: np.ndarray) -> list[Snap]:
        """``snap_arrays`` as one ``Snap`` per point."""
        edges, fractions, distances = self.snap_arrays(xs, ys)
        return [
            self.snap_of(e, f, d)
            for e, f, d in zip(edges.tolist(), fractions.tolist(), distances.tolist(), strict=True)
        ]

    def snap_of(self, edge: int, fraction: float, distance: float) -> Snap:
        x, y = _at(self.coords[edge], self.stations[edge], fraction).tolist()
        return Snap(int(edge), float(fraction), float(distance), x, y)

    # --- searching -------------------------------------------------------------------------

    def to_target(self, case: Snap) -> "Search":
        """Travel times from every junction to the snapped case (one search per way into the
        case's edge: from its source forwards, from its target backwards)."""
        e = case.edge
        entries = []
        if self.cost[e] >= 0:
            entries.append(
                (
                    int(self.source[e]),
                    case.fraction * self.cost[e],
                    case.fraction * self.length[e],
                    True,
                )
            )
        if self.reverse_cost[e] >= 0:
            entries.append(
                (
                    int(self.target[e]),
                    (1 - case.fraction) * self.reverse_cost[e],
                    (1 - case.fraction) * self.length[e],
                    False,
                )
            )
        if not entries:
            return Search(self, case, [], np.empty((0, self.vertex_count)), None)
        times, predecessors = dijkstra(
            self.reversed, directed=True, indices=[v for v, *_ in entries], return_predecessors=True
        )
        return Search(self, case, entries, np.atleast_2d(times), np.atleast_2d(predecessors))


class Search:
    """The result of one search towards a case: ask it for any team's route."""

    def __init__(self, graph: Graph, case: Snap, entries, times, predecessors) -> None:
        self.graph = graph
        self.case = case
        self.entries = entries
        self.times = times
        self.predecessors = predecessors

    def times_from(self, edges: np.ndarray, fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The fastest road time (s) to the case from points snapped at ``fractions`` of
        ``edges`` (vectorised over all teams), and the option that gives it (for ``route``);
        ``inf`` where no road leads there.

        Options: 0 / 1 along the case's own edge forwards / backwards (when the team is on
        it and the one-way rule allows), then per way into the case's edge ``k`` 2 + 2k
        leaving the team's edge at its target (forwards), 3 + 2k at its source (backwards)."""
        g, case = self.graph, self.case
        n = len(edges)
        cost, reverse = g.cost[edges], g.reverse_cost[edges]
        options = np.full((2 + 2 * len(self.entries), n), np.inf)
        same = edges == case.edge
        ok = same & (fractions <= case.fraction) & (cost >= 0)
        options[0, ok] = ((case.fraction - fractions) * cost)[ok]
        ok = same & (fractions >= case.fraction) & (reverse >= 0)
        options[1, ok] = ((fractions - case.fraction) * reverse)[ok]
        forwards, backwards = cost >= 0, reverse >= 0
        for k, (_vertex, entry_time, _length, _forward) in enumerate(self.entries):
            row = self.times[k]
            via_target = (1 - fractions) * cost + row[g.target[edges]] + entry_time
            via_source = fractions * reverse + row[g.source[edges]] + entry_time
            options[2 + 2 * k, forwards] = via_target[forwards]
            options[3 + 2 * k, backwards] = via_source[backwards]
        choice = np.argmin(options, axis=0)
        return options[choice, np.arange(n)], choice

    def route(self, team: Snap, option: int) -> Route:
        """The route of ``times_from``'s ``option`` for a team: time, length, coordinates."""
        g, case = self.graph, self.case
        if option < 2:
            part = g.substring(team.edge, team.fraction, case.fraction)
            length = abs(case.fraction - team.fraction) * g.length[team.edge]
            cost = g.cost[team.edge] if option == 0 else g.reverse_cost[team.edge]
            return Route(abs(case.fraction - team.fraction) * cost, length, part)
        k, forward = divmod(option - 2, 2)[0], option % 2 == 0
        vertex = int(g.target[team.edge] if forward else g.source[team.edge])
        e = team.edge
        pieces = [g.substring(e, team.fraction, 1.0 if forward else 0.0)]
        time = (1 - team.fraction) * g.cost[e] if forward else team.fraction * g.reverse_cost[e]
        length = ((1 - team.fraction) if forward else team.fraction) * g.length[e]
        predecessors = self.predecessors[k]
        v = vertex
        while predecessors[v] >= 0:
            u = int(predecessors[v])
            i, fwd = g._arcs[(v, u)]
            pieces.append(g.coords[i] if fwd else g.coords[i][::-1])
            time += g.cost[i] if fwd else g.reverse_cost[i]
            length += g.length[i]
            v = u
        _vertex, entry_time, entry_length, entry_forward = self.entries[k]
        pieces.append(g.substring(case.edge, 0.0 if entry_forward else 1.0, case.fraction))
        time += entry_time
        length += entry_length
        return Route(float(time), float(length), np.concatenate(pieces))


def _at(coords: np.ndarray, stations: np.ndarray, fraction: float) -> np.ndarray:
    """The point at ``fraction`` of a line's length."""
    k = min(max(int(np.searchsorted(stations, fraction, side="right")) - 1, 0), len(coords) - 2)
    span = stations[k + 1] - stations[k]
    t = (fraction - stations[k]) / span if span > 0 else 0.0
    return coords[k] + t * (coords[k + 1] - coords[k])


def _stations(coords: np.ndarray) -> np.ndarray:
    """Where each vertex of a line lies along it, as a fraction of its length."""
    steps = np.hypot(*np.diff(coords, axis=0).T)
    total = steps.sum()
    along = np.concatenate([[0.0], np.cumsum(steps)])
    return along / total if total > 0 else np.linspace(0.0, 1.0, len(coords))


_lock = threading.Lock()
_graph: Graph | None = None


def graph_for(version: tuple) -> Graph:
    """This process's copy of the network as of ``version`` (``NetworkState``'s
    ``built_version`` and ``built_at``), read again when the network was rebuilt since."""
    global _graph
    current = _graph
    if current is not None and current.version == version:
        return current
    with _lock:
        if _graph is None or _graph.version != version:
            rows = list(
                NetworkEdge.objects.order_by("id").values_list(
                    "id", "source", "target", "cost_s", "reverse_cost_s", "length_m", "geom"
                )
            )
            _graph = Graph(version, [(*r[:6], r[6].wkb) for r in rows])
        return _graph
