"""The road network (路网) in pgRouting: built from ``gridmap.Road``, rebuilt when roads change.

``network_rebuild`` turns the roads into ``NetworkEdge`` / ``NetworkVertex`` rows in one
transaction (readers keep the previous network until it commits):

1. *Which roads.* Every road but footways (teams drive: a footway would let a patrol car cut
   through a park) and roads whose own speed is 0 (closed).
2. *Junctions.* Road ends closer than ``tolerance_m`` (default ``SNAP_TOLERANCE_M``, 1 m) are
   one junction, at their centroid (``ST_ClusterDBSCAN``): imported roads are often digitised
   a few centimetres apart. The demo's roads are noded exactly and come through unchanged.
3. *T junctions.* A road end within the tolerance of another road's middle splits that road
   there (a side street drawn up to, but not noded with, a main road).
4. Roads that *cross* without a junction stay unconnected: they may be a bridge over a road.
   The build counts them (``crossings``) so that an importer can see roads that need splitting.
5. *Costs* are travel times in seconds: length (m, in the metric storage CRS) at the road's
   ``speed_kmh`` or its class's ``Road.DEFAULT_SPEED_KMH``; against a one-way street's drawn
   direction the cost is -1 (pgRouting: no edge).

This is what ``pgr_createTopology`` did (deprecated since pgRouting 3.8), written with
PostGIS so that it also snaps T junctions and runs on any pgRouting 3.x.

When roads change: a statement-level trigger on ``gridmap_road`` (migration 0002) bumps
``NetworkState.roads_version`` in the writing transaction, whoever writes (the admin's map
editor, the importers' bulk upserts, the demo loader, raw SQL), so the state row always tells
whether the network is behind the roads. A save or delete of a road through the ORM also queues
a rebuild on Celery (``dispatch.tasks.rebuild_network``) once the edit commits, a few seconds
later, so that a burst of edits costs one rebuild; bulk writes, which send no signals, are caught
by the beat sweep ``dispatch.tasks.network_catch_up`` (every ``NETWORK_CATCH_UP_S`` seconds,
10 by default: one row read when nothing changed). ``manage.py build_network`` rebuilds by hand.
"""

import json
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis import RedisError

from gridmap.models import Road

from .models import NetworkState

log = logging.getLogger(__name__)

#: Road ends closer than this (metres) are one junction; a road end this close to another
#: road's middle splits it. ``GRIDMAP_NETWORK_TOLERANCE_M`` overrides it.
SNAP_TOLERANCE_M = 1.0
#: Road classes left out of the network that teams drive on.
EXCLUDED_CLASSES = (Road.RoadClass.FOOTWAY,)
#: Seconds a queued rebuild waits, so that a burst of edits costs one rebuild.
REBUILD_DELAY_S = 2.0
#: How often (s) beat checks whether bulk road writes left the network behind: every fifth
#: clock sweep (10 s by default).
NETWORK_CATCH_UP_S = 5 * settings.GRIDMAP_SWEEP_INTERVAL_S
#: Serialises rebuilds (pg_advisory_xact_lock key: "dispatch" in ASCII).
_REBUILD_LOCK = 0x6469737061746368


@dataclass
class NetworkBuild:
    """What a rebuild made and found."""

    roads: int
    edges: int
    vertices: int
    snapped_ends: int
    split_roads: int
    crossings: int
    components: int
    isolated_vertices: int
    build_ms: float
    tolerance_m: float
    #: Up to five crossings without a junction: (road code, road code, lon, lat in WGS-84).
    crossing_examples: list[tuple[str, str, float, float]] = field(default_factory=list)


def network_tolerance_m() -> float:
    return float(getattr(settings, "GRIDMAP_NETWORK_TOLERANCE_M", SNAP_TOLERANCE_M))


def _speeds() -> str:
    return json.dumps({str(k): float(v) for k, v in Road.DEFAULT_SPEED_KMH.items()})


# Each statement works on temporary tables (dropped after the counts are read). Parameters:
# tolerance (m), default speeds by class (JSON), excluded classes.
_TEMP_TABLES = "_net_road, _net_end, _net_vertex, _net_end_vertex, _net_cut, _net_piece"
_BUILD_SQL = [
    # Dropped first too: two builds in one outer transaction (a test, an import and a fix).
    f"DROP TABLE IF EXISTS {_TEMP_TABLES}",
    """
    CREATE TEMP TABLE _net_road ON COMMIT DROP AS
    SELECT r.id AS road_id, r.code, r.oneway, r.geom,
           COALESCE(r.speed_kmh, (%(speeds)s::jsonb ->> r.road_class)::float8, 20.0) AS speed_kmh
      FROM gridmap_road r
     WHERE r.road_class <> ALL(%(excluded)s::text[])
       AND COALESCE(r.speed_kmh, 1.0) > 0
       AND ST_Length(r.geom) > 0
    """,
    "CREATE INDEX ON _net_road USING gist (geom)",
    "ANALYZE _net_road",
    # Road ends, clustered into junctions: ends within the tolerance are one junction.
    """
    CREATE TEMP TABLE _net_end ON COMMIT DROP AS
    SELECT road_id, at_end, geom,
           ST_ClusterDBSCAN(geom, eps := %(tolerance)s, minpoints := 1) OVER () AS cluster
      FROM (SELECT road_id, false AS at_end, ST_StartPoint(geom) AS geom FROM _net_road
            UNION ALL
            SELECT road_id, true, ST_EndPoint(geom) FROM _net_road) AS ends
    """,
    # Junction ids in a stable order (west to east, south to north).
    """
    CREATE TEMP TABLE _net_vertex ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY ST_X(geom), ST_Y(geom)) AS id, cluster, geom
      FROM (SELECT cluster, ST_Centroid(ST_Collect(geom)) AS geom
              FROM _net_end GROUP BY cluster) AS c
    """,
    "CREATE INDEX ON _net_vertex (cluster)",
    "ANALYZE _net_vertex",
    """
    CREATE TEMP TABLE _net_end_vertex ON COMMIT DROP AS
    SELECT e.road_id, e.at_end, v.id AS vertex_id, ST_Distance(e.geom, v.geom) AS moved_m
      FROM _net_end e JOIN _net_vertex v USING (cluster)
    """,
    "CREATE INDEX ON _net_end_vertex (road_id, vertex_id)",
    "ANALYZE _net_end_vertex",
    # T junctions: a junction near the middle of a road that does not end there cuts it.
    """
    CREATE TEMP TABLE _net_cut ON COMMIT DROP AS
    SELECT r.road_id, v.id AS vertex_id, ST_LineLocatePoint(r.geom, v.geom) AS f
      FROM _net_vertex v
      JOIN _net_road r ON ST_DWithin(r.geom, v.geom, %(tolerance)s)
     WHERE NOT EXISTS (SELECT FROM _net_end_vertex e
                        WHERE e.road_id = r.road_id AND e.vertex_id = v.id)
    """,
    """
    DELETE FROM _net_cut c USING _net_road r
     WHERE c.road_id = r.road_id
       AND (c.f * ST_Length(r.geom) <= %(tolerance)s
            OR (1 - c.f) * ST_Length(r.geom) <= %(tolerance)s)
    """,
    # Pieces between consecutive stops along each road, their ends moved onto the junctions.
    """
    CREATE TEMP TABLE _net_piece ON COMMIT DROP AS
    WITH stops AS (
        SELECT road_id, 0.0::float8 AS f, vertex_id FROM _net_end_vertex WHERE NOT at_end
        UNION ALL
        SELECT road_id, f, vertex_id FROM _net_cut
        UNION ALL
        SELECT road_id, 1.0::float8, vertex_id FROM _net_end_vertex WHERE at_end
    ), runs AS (
        SELECT road_id, f, vertex_id,
               lead(f) OVER w AS f2, lead(vertex_id) OVER w AS vertex2
          FROM stops WINDOW w AS (PARTITION BY road_id ORDER BY f, vertex_id)
    )
    SELECT s.road_id, s.vertex_id AS source, s.vertex2 AS target, r.oneway, r.speed_kmh,
           ST_SetPoint(ST_SetPoint(ST_LineSubstring(r.geom, s.f, s.f2), 0, a.geom), -1, b.geom)
               AS geom
      FROM runs s
      JOIN _net_road r USING (road_id)
      JOIN _net_vertex a ON a.id = s.vertex_id
      JOIN _net_vertex b ON b.id = s.vertex2
     WHERE s.f2 IS NOT NULL AND s.f2 > s.f
    """,
    "DELETE FROM dispatch_networkedge",
    "DELETE FROM dispatch_networkvertex",
    """
    INSERT INTO dispatch_networkvertex (id, geom) SELECT id, geom FROM _net_vertex
    """,
    """
    INSERT INTO dispatch_networkedge
           (road_id, source, target, cost_s, reverse_cost_s, length_m, geom)
    SELECT road_id, source, target, t,
           CASE WHEN oneway THEN -1.0 ELSE t END, length_m, geom
      FROM (SELECT p.*, ST_Length(p.geom) AS length_m,
                   ST_Length(p.geom) / (p.speed_kmh / 3.6) AS t
              FROM _net_piece p) AS e
     WHERE NOT (source = target AND length_m <= %(tolerance)s)
     ORDER BY road_id, source
    """,
    # Fresh statistics: the crossings check below and every recommendation plan with them.
    "ANALYZE dispatch_networkedge",
    "ANALYZE dispatch_networkvertex",
]

_STATS_SQL = """
SELECT (SELECT count(*) FROM _net_road),
       (SELECT count(*) FROM dispatch_networkedge),
       (SELECT count(*) FROM dispatch_networkvertex),
       (SELECT count(*) FROM _net_end_vertex WHERE moved_m > 1e-6),
       (SELECT count(DISTINCT road_id) FROM _net_cut)
"""

# Crossings without a junction: interiors of two edges with no junction in common meeting.
_CROSSINGS_SQL = """
SELECT ra.code, rb.code, ST_X(p), ST_Y(p)
  FROM (SELECT a.road_id AS ra, b.road_id AS rb,
               ST_Transform(ST_PointOnSurface(ST_Intersection(a.geom, b.geom)), 4326) AS p
          FROM dispatch_networkedge a
          JOIN dispatch_networkedge b ON a.id < b.id AND a.geom && b.geom
         -- Edges meeting at a junction are not tested (most candidates, and costly to test).
         WHERE a.source NOT IN (b.source, b.target) AND a.target NOT IN (b.source, b.target)
           AND ST_Crosses(a.geom, b.geom)) AS x
  JOIN gridmap_road ra ON ra.id = x.ra
  JOIN gridmap_road rb ON rb.id = x.rb
 ORDER BY ra.code, rb.code
"""

_COMPONENTS_SQL = """
SELECT count(*), COALESCE(sum(n) - max(n), 0)::int
  FROM (SELECT component, count(*) AS n
          FROM pgr_connectedComponents(
               'SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost
                  FROM dispatch_networkedge')
         GROUP BY component) AS c
"""


def _state_row(cursor) -> tuple[int, int]:
    """(roads_version, built_version), creating the row if a test flush removed it."""
    cursor.execute(
        "INSERT INTO dispatch_networkstate (id, roads_version, built_version, roads, edges,"
        " vertices, snapped_ends, split_roads, crossings, components, isolated_vertices)"
        " VALUES (1, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0) ON CONFLICT (id) DO NOTHING"
    )
    cursor.execute("SELECT roads_version, built_version FROM dispatch_networkstate WHERE id = 1")
    return cursor.fetchone()


def network_rebuild(
    *, tolerance_m: float | None = None, if_behind: bool = False
) -> NetworkBuild | None:
    """Rebuild the routing network from the roads, all or nothing (one transaction; inside the
    caller's when there is one). ``tolerance_m``: metres within which road ends are one
    junction (default ``network_tolerance_m()``). Rebuilds never run concurrently: a second
    waits for the first; with ``if_behind`` it then finds the network current and returns None
    (the queued task and the sweep racing cost one build). Returns what was built."""
    tolerance = network_tolerance_m() if tolerance_m is None else float(tolerance_m)
    if tolerance < 0:
        raise ValueError("the snapping tolerance must be 0 m or more")
    params = {"tolerance": tolerance, "speeds": _speeds(), "excluded": list(EXCLUDED_CLASSES)}
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REBUILD_LOCK])
        roads_version, built_version = _state_row(cursor)
        if if_behind and built_version >= roads_version:
            return None
        for sql in _BUILD_SQL:
            cursor.execute(sql, params if "%(" in sql else None)
        cursor.execute(_STATS_SQL)
        roads, edges, vertices, snapped, split = cursor.fetchone()
        cursor.execute(f"DROP TABLE {_TEMP_TABLES}")
        cursor.execute(_CROSSINGS_SQL)
        crossings = cursor.fetchall()
        components, isolated = 0, 0
        if edges:
            cursor.execute(_COMPONENTS_SQL)
            components, isolated = cursor.fetchone()
        build_ms = (time.perf_counter() - t0) * 1000
        cursor.execute(
            """
            UPDATE dispatch_networkstate
               SET built_version = %s, built_at = %s, build_ms = %s, tolerance_m = %s,
                   roads = %s, edges = %s, vertices = %s, snapped_ends = %s, split_roads = %s,
                   crossings = %s, components = %s, isolated_vertices = %s
             WHERE id = 1
            """,
            [
                roads_version,
                timezone.now(),
                build_ms,
                tolerance,
                roads,
                edges,
                vertices,
                snapped,
                split,
                len(crossings),
                components,
                isolated,
            ],
        )
    log.info("road network rebuilt: %d edges, %d vertices in %.0f ms", edges, vertices, build_ms)
    return NetworkBuild(
        roads=roads,
        edges=edges,
        vertices=vertices,
        snapped_ends=snapped,
        split_roads=split,
        crossings=len(crossings),
        components=components,
        isolated_vertices=isolated,
        build_ms=build_ms,
        tolerance_m=tolerance,
        crossing_examples=[tuple(c) for c in crossings[:5]],
    )


def network_state() -> NetworkState:
    """The network's state row (how current it is, what the last build found)."""
    state = NetworkState.objects.filter(pk=1).first()
    return state if state is not None else NetworkState(pk=1)


def network_rebuild_if_behind() -> NetworkBuild | None:
    """Rebuild when roads changed since the last build (what the queued task and the sweep do);
    None when the network is current. The check costs one row read."""
    with connection.cursor() as cursor:
        roads_version, built_version = _state_row(cursor)
    if built_version >= roads_version:
        return None
    return network_rebuild(if_behind=True)


def network_changed() -> None:
    """Roads changed in the current transaction (the trigger has marked the network behind):
    queue one rebuild after the commit, however many roads the transaction touches."""
    if connection.in_atomic_block and any(
        item[1] is _queue_rebuild for item in connection.run_on_commit
    ):
        return
    transaction.on_commit(_queue_rebuild)


def _queue_rebuild() -> None:
    from .tasks import rebuild_network

    try:
        rebuild_network.apply_async(countdown=REBUILD_DELAY_S)
    except (OperationalError, RedisError, OSError) as exc:
        # The broker is down: the state row still says "behind".
        log.warning(
            "road network rebuild not queued (%s); the network_catch_up sweep or "
            "`manage.py build_network` catches up",
            exc,
        )


def _road_saved(sender, instance, **kwargs) -> None:
    network_changed()


def connect_signals() -> None:
    """Saving or deleting a road through the ORM (the admin's map editor) queues a rebuild;
    bulk writes (the importers) are caught by the catch-up sweep."""
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_road_saved, sender=Road, dispatch_uid="dispatch-road-saved")
    post_delete.connect(_road_saved, sender=Road, dispatch_uid="dispatch-road-deleted")
