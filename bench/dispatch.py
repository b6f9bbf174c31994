"""Dispatch recommendation for 200 teams on the demo network, beside the raw pgRouting query.

In a database created for the run (migrate, load_demo, build_network) and dropped after it:
200 teams of one department, all with a jurisdiction covering the district, are placed at
random on the demo's roads (a few metres off them, as GPS fixes are): 180 available with a
fresh position, 10 busy (responding, one open case each) and 10 whose last fix is stale (the
straight-line fallback from their base). 200 cases are reported at random points of the
district. Then, in this process, one at a time (the heap frozen after the warm-up, as in the web
workers):

- ``recommend(case)`` — the whole recommendation: responsibility, the team query, ETAs over
  the network for every team, the top 5 with their routes (what the API and auto-dispatch call);
- the raw pgRouting query for the same question: ``pgr_dijkstra`` many-to-one from the 190
  fresh teams' nearest junctions (found beforehand, outside the timing) to the case's nearest
  junction (found in the query by the ``<->`` index operator), the edges read by pgRouting's
  edges SQL — what a recommendation would cost if it asked pgRouting on every call;
- the team query alone (``team_pool``: the 200 teams with positions, jurisdiction, shifts,
  queues and the network's state in one prepared statement), the part of a recommendation
  spent in the database;
- the whole API view in process (``GET /api/v1/cases/<id>/recommendation`` as the demo's
  dispatcher: authentication, the case's visibility, JSON with the routes in WGS-84);
- the first recommendation after a rebuild (the process reloads its copy of the network);
- then the same on a dense grid of roads over the district (30 m apart, ~20,000 edges, as a
  city's street network), to show how the cost grows with the network.

Target (DESIGN §6): recommendation for 200 teams p99 <= 20 ms.
"""

import gc
import io
import os
import random
import time
from datetime import timedelta

from _common import percentile, report, timed
from intake import BenchDatabase, base_database_url

TEAMS = 200
BUSY = 10
STALE = 10
CASES = 200
ROUNDS = 5
SEED = 6


def build_world():
    """Department, category, jurisdiction, 200 teams and 200 cases; returns (cases, fresh team
    vertex ids)."""
    from django.contrib.gis.geos import MultiPolygon, Point, Polygon
    from django.db import connection
    from django.utils import timezone
    from pyproj import Transformer

    from cases.models import Case, Category
    from cases.services import case_report
    from gridmap.models import STORAGE_SRID, Department, District, ResponsibilityZone, Team, User

    rng = random.Random(SEED)
    department = Department.objects.create(code="BENCH", name="派遣压测部门")
    Category.objects.filter(code="E0102").update(department=department, auto_dispatch=False)
    district = District.objects.get()
    zone = ResponsibilityZone.objects.create(
        code="BENCH-J",
        name="压测辖区",
        kind="jurisdiction",
        geom=MultiPolygon(Polygon.from_bbox(district.geom.extent), srid=STORAGE_SRID),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, random()) AS p "
            "FROM dispatch_networkedge, generate_series(1, 3) ORDER BY random() LIMIT %s) x",
            [TEAMS],
        )
        spots = cursor.fetchall()
    now = timezone.now()
    teams = []
    for i, (x, y) in enumerate(spots):
        status = "responding" if i < BUSY else "available"
        stale = BUSY <= i < BUSY + STALE
        fix = Point(x + rng.uniform(-8, 8), y + rng.uniform(-8, 8), srid=STORAGE_SRID)
        teams.append(
            Team(
                code=f"B{i:03d}",
                name=f"压测队{i:03d}",
                department=department,
                kind="enforcement",
                status=status,
                base_geom=Point(x, y, srid=STORAGE_SRID),
                position_geom=fix,
                position_at=now - timedelta(minutes=30 if stale else 0, seconds=5),
            )
        )
    Team.objects.bulk_create(teams)
    Team.jurisdictions.through.objects.bulk_create(
        Team.jurisdictions.through(team_id=t.pk, responsibilityzone_id=zone.pk) for t in teams
    )
    operator = User.objects.get(username="operator")
    to_wgs84 = Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True)
    ext = district.geom.extent
    cases = []
    while len(cases) < CASES:
        x, y = rng.uniform(ext[0], ext[2]), rng.uniform(ext[1], ext[3])
        if not district.geom.contains(Point(x, y, srid=STORAGE_SRID)):
            continue
        lon, lat = to_wgs84.transform(x, y)
        cases.append(
            case_report(source="hotline", category_code="E0102", lon=lon, lat=lat,
                        reporter=operator).pk
        )  # fmt: skip
    for i, team in enumerate(teams[:BUSY]):
        Case.objects.filter(pk=cases[i]).update(stage="dispatched", team=team)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT v.id FROM dispatch_networkvertex v ORDER BY v.geom <-> t.position_geom"
            " LIMIT 1) FROM gridmap_team t WHERE t.department_id = %s AND t.status = 'available'"
            " AND t.position_at > now() - interval '5 minutes'",
            [department.pk],
        )
        vertices = sorted({row[0] for row in cursor.fetchall()})
    return list(Case.objects.filter(pk__in=cases).select_related("category")), vertices


GRID_SPACING_M = 30.0

GRID_SQL = """
WITH box AS (SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0,
                    floor((ST_XMax(e) - ST_XMin(e)) / %(s)s)::int AS nx,
                    floor((ST_YMax(e) - ST_YMin(e)) / %(s)s)::int AS ny
               FROM (SELECT ST_Extent(geom)::geometry AS e FROM gridmap_district) d)
INSERT INTO gridmap_road (code, name, road_class, oneway, bridge, geom)
SELECT 'GRID-' || kind || '-' || i || '-' || j, '格网路',
       CASE WHEN (CASE kind WHEN 'h' THEN j ELSE i END) %% 10 = 0 THEN 'primary' ELSE 'branch' END,
       false, false,
       ST_SetSRID(ST_MakeLine(ST_MakePoint(x0 + i * %(s)s, y0 + j * %(s)s),
                              ST_MakePoint(x0 + (i + di) * %(s)s, y0 + (j + dj) * %(s)s)),
                  %(srid)s)
  FROM box,
       LATERAL (SELECT 'h' AS kind, 1 AS di, 0 AS dj UNION ALL SELECT 'v', 0, 1) k,
       LATERAL generate_series(0, nx - di) i,
       LATERAL generate_series(0, ny - dj) j
"""


def grid_figures(cases, recommend, network_rebuild, *, raw_sql_on) -> dict:
    """Recommendations over a dense grid of roads instead of the demo's (see ``main``)."""
    from django.db import connection

    from gridmap.models import STORAGE_SRID, Road

    Road.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(GRID_SQL, {"s": GRID_SPACING_M, "srid": STORAGE_SRID})
    t0 = time.perf_counter()
    build = network_rebuild()
    build_ms = (time.perf_counter() - t0) * 1000
    recommend(cases[0])  # loads the new network into the process
    args = [(case,) for case in cases] * 2
    ms = timed(recommend, args)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(DISTINCT (SELECT v.id FROM dispatch_networkvertex v"
            " ORDER BY v.geom <-> t.position_geom LIMIT 1)) FROM gridmap_team t"
            " WHERE t.code LIKE 'B%%' AND t.status = 'available'"
        )
        vertices = cursor.fetchone()[0]

    def raw(case):
        return raw_sql_on.execute(
            RAW_SQL,
            {"starts": vertices, "x": case.geom.x, "y": case.geom.y, "srid": STORAGE_SRID},
            prepare=True,
        ).fetchall()

    raw(cases[0])
    raw_ms = timed(raw, args[: len(cases)])
    return {
        "grid_edges": build.edges,
        "grid_build_ms": round(build_ms),
        "grid_recommend_p50_ms": round(percentile(ms, 50), 2),
        "grid_recommend_p99_ms": round(percentile(ms, 99), 2),
        "grid_raw_pgrouting_p50_ms": round(percentile(raw_ms, 50), 2),
    }


RAW_SQL = """
SELECT start_vid, agg_cost FROM pgr_dijkstra(
    'SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost
       FROM dispatch_networkedge',
    %(starts)s::bigint[],
    (SELECT v.id FROM dispatch_networkvertex v
      ORDER BY v.geom <-> ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), %(srid)s) LIMIT 1))
 WHERE edge = -1
"""


def main() -> None:
    db = base_database_url()
    with BenchDatabase(db) as bench_db:
        os.environ["DATABASE_URL"] = bench_db.url
        from _common import setup_django

        setup_django()
        from django.core.management import call_command
        from django.db import connection

        from dispatch.network import network_rebuild
        from dispatch.recommend import recommend
        from dispatch.selectors import team_pool
        from gridmap.models import STORAGE_SRID
        from gridmap.selectors.geocode import _server_side_cursor

        with connection.cursor() as cursor:
            cursor.execute("SHOW fsync")
            fsync = cursor.fetchone()[0]
        call_command("build_network", verbosity=0, stdout=io.StringIO())
        cases, vertices = build_world()
        # Warm up (the process's copy of the network, prepared statements), then measure.
        for case in cases[:20]:
            recommend(case)
        # As the web workers do (gridmap/asgi.py): the startup heap frozen, so that the garbage
        # collector does not walk Django's hundreds of thousands of objects again and again.
        gc.collect()
        gc.freeze()
        args = [(case,) for _ in range(ROUNDS) for case in cases]
        sample = recommend(cases[0])
        recommend_ms = timed(recommend, args)
        # CPU time of this process per call (without the database server's): what the
        # recommendation costs the web worker whatever else the machine does.
        cpu_ms = []
        for (case,) in args[: len(cases)]:
            t0 = time.process_time()
            recommend(case)
            cpu_ms.append((time.process_time() - t0) * 1000)
        methods = {}
        for case in cases:
            for c in recommend(case, top=200).candidates:
                methods[c.method] = methods.get(c.method, 0) + 1

        cursor = _server_side_cursor()

        def raw(case):
            return cursor.execute(
                RAW_SQL,
                {"starts": vertices, "x": case.geom.x, "y": case.geom.y, "srid": STORAGE_SRID},
                prepare=True,
            ).fetchall()

        for case in cases[:20]:
            raw(case)
        raw_ms = timed(raw, args)

        department = cases[0].department_id

        def pool(case):
            return team_pool(x=case.geom.x, y=case.geom.y, department_id=department, team_ids=None)

        pool_ms = timed(pool, args)
        answered = len(raw(cases[0]))

        # The whole API view in process (authentication, the case's visibility, JSON with the
        # routes in WGS-84), as a dispatcher asks for it.
        from rest_framework.test import APIRequestFactory, force_authenticate

        from dispatch.api import RecommendationView
        from gridmap.models import User

        factory = APIRequestFactory()
        view = RecommendationView.as_view()
        dispatcher = User.objects.get(username="dispatcher")

        def api(case):
            request = factory.get(f"/api/v1/cases/{case.pk}/recommendation")
            force_authenticate(request, user=dispatcher)
            response = view(request, pk=case.pk)
            assert response.status_code == 200, response.data
            response.render()

        for case in cases[:20]:
            api(case)
        api_ms = timed(api, args)

        # The first recommendation after a rebuild reloads the network into the process.
        reload_ms = []
        for case in cases[:5]:
            network_rebuild()
            t0 = time.perf_counter()
            recommend(case)
            reload_ms.append((time.perf_counter() - t0) * 1000)
        edges = connection.cursor()
        edges.execute("SELECT count(*) FROM dispatch_networkedge")
        edge_count = edges.fetchone()[0]

        # How the cost grows with the network: the roads replaced by a dense grid over the
        # district (a city's street network, ~20,000 edges), the same teams and cases.
        grid = grid_figures(cases, recommend, network_rebuild, raw_sql_on=cursor)

    figures = {
        "teams": TEAMS,
        "edges": edge_count,
        "calls": len(recommend_ms),
        "fsync": fsync,
        # Other work on the machine weighs on every figure here (2 cores): say how much there was.
        "load_average_1min": round(os.getloadavg()[0], 2),
        "recommend_p50_ms": round(percentile(recommend_ms, 50), 2),
        "recommend_p99_ms": round(percentile(recommend_ms, 99), 2),
        "recommend_cpu_p50_ms": round(percentile(cpu_ms, 50), 2),
        "recommend_after_rebuild_p50_ms": round(percentile(reload_ms, 50), 1),
        "raw_pgrouting_p50_ms": round(percentile(raw_ms, 50), 2),
        "raw_pgrouting_p99_ms": round(percentile(raw_ms, 99), 2),
        "team_query_p50_ms": round(percentile(pool_ms, 50), 2),
        "api_view_p50_ms": round(percentile(api_ms, 50), 2),
        "api_view_p99_ms": round(percentile(api_ms, 99), 2),
        **grid,
        "ratio_recommend_to_raw_p50": round(
            percentile(recommend_ms, 50) / percentile(raw_ms, 50), 2
        ),
    }
    report(
        "Dispatch recommendation, 200 teams on the demo network, in process (target: p99 <= 20 ms)",
        [
            ("network edges", edge_count),
            ("load average (1 min) at the end", figures["load_average_1min"]),
            (
                "teams (available / busy / stale position)",
                f"{TEAMS - BUSY - STALE} / {BUSY} / {STALE}",
            ),
            ("estimates by method (all teams, all cases)", str(methods)),
            ("sample top 5", ", ".join(f"{c.team_code} {c.eta_s:.0f}s" for c in sample.candidates)),
            ("recommend() p50 ms", figures["recommend_p50_ms"]),
            ("recommend() p99 ms (target <= 20)", figures["recommend_p99_ms"]),
            ("recommend() CPU time of this process p50 ms", figures["recommend_cpu_p50_ms"]),
            ("first recommend() after a rebuild p50 ms", figures["recommend_after_rebuild_p50_ms"]),
            (
                f"raw pgr_dijkstra many-to-one ({len(vertices)} teams, {answered} answered) p50 ms",
                figures["raw_pgrouting_p50_ms"],
            ),
            ("raw pgr_dijkstra p99 ms", figures["raw_pgrouting_p99_ms"]),
            ("of recommend(): the team query alone p50 ms", figures["team_query_p50_ms"]),
            (
                "GET .../recommendation view in process p50 / p99 ms",
                f"{figures['api_view_p50_ms']} / {figures['api_view_p99_ms']}",
            ),
            ("ratio recommend / raw (p50)", figures["ratio_recommend_to_raw_p50"]),
            (f"grid network: {grid['grid_edges']} edges, built in ms", grid["grid_build_ms"]),
            (
                "grid network: recommend() p50 / p99 ms",
                f"{grid['grid_recommend_p50_ms']} / {grid['grid_recommend_p99_ms']}",
            ),
            ("grid network: raw pgr_dijkstra p50 ms", grid["grid_raw_pgrouting_p50_ms"]),
        ],
        figures,
    )


if __name__ == "__main__":
    main()
