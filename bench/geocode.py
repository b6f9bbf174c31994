"""Geocode one point: the service, over HTTP, and the raw prepared SQL lookup in the same run;
then bulk geocoding: 1 M points assigned in memory, the whole `geocode` command on a 1 M-row CSV,
and the raw grid-driven SQL join of the same points.

Targets (DESIGN §6): the service within 2x the raw prepared point→grid lookup; bulk assignment
>= 500,000 points/s; the whole command (CSV in and out) on 1 M points <= 5 s.
"""

import http.client
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, WebServer, percentile, report, setup_django, timed

N = 2000
BULK_N = 1_000_000
BULK_REPEATS = 3


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.db import connection

    from gridmap.selectors import district_extent_wgs84, geocode_point

    west, south, east, north = district_extent_wgs84()
    rng = random.Random(7)
    # Points inside the district's bounding box, shrunk a little so that nearly all are inside.
    pad_x, pad_y = (east - west) * 0.1, (north - south) * 0.1
    points = [
        (rng.uniform(west + pad_x, east - pad_x), rng.uniform(south + pad_y, north - pad_y))
        for _ in range(N)
    ]

    # Raw baseline: a prepared point -> grid lookup on a psycopg connection of its own.
    import psycopg

    db = settings.DATABASES["default"]
    raw = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        autocommit=True,
    )
    raw_sql = (
        "SELECT code FROM gridmap_unitgrid WHERE ST_Covers(geom, "
        f"ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), {settings.GRIDMAP_SRID})) LIMIT 1"
    )

    def raw_lookup(lon, lat):
        raw.execute(raw_sql, (lon, lat), prepare=True).fetchone()

    def service(lon, lat):
        geocode_point(lon=lon, lat=lat)

    inside = sum(geocode_point(lon=x, lat=y).inside for x, y in points[:200])
    timed(raw_lookup, points[:300])  # warm both paths (plans, PROJ, the area directory)
    timed(service, points[:300])
    # Alternating passes over all points, so that whatever else the machine does weighs on both
    # alike (point-by-point alternation would instead measure cold CPU caches on every call).
    raw_ms, service_ms = [], []
    for _ in range(4):
        raw_ms += timed(raw_lookup, points)
        service_ms += timed(service, points)
    connection.close()
    raw.close()

    # Over HTTP: one persistent connection, sequential requests, to 2 uvicorn workers.
    with WebServer(env={"GRIDMAP_RATE_LOOKUP": "100000000/min"}) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port)

        def http_lookup(lon, lat):
            conn.request("GET", f"/api/v1/geocode?lon={lon:.7f}&lat={lat:.7f}")
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 422):
                raise RuntimeError(f"HTTP {response.status}")

        def trivial(*_):
            conn.request("GET", "/healthz")
            conn.getresponse().read()

        timed(http_lookup, points[:300])
        t0 = time.perf_counter()
        http_ms = timed(http_lookup, points)
        http_rps = len(points) / (time.perf_counter() - t0)
        trivial_ms = timed(trivial, points)
        conn.close()

    bulk = bulk_figures((west, south, east, north))

    raw_p50 = percentile(raw_ms, 50)
    service_p50 = percentile(service_ms, 50)
    figures = {
        "points": N,
        "inside_share": round(inside / 200, 3),
        "geocode_service_p50_ms": round(service_p50, 4),
        "geocode_service_p99_ms": round(percentile(service_ms, 99), 4),
        "geocode_http_p50_ms": round(percentile(http_ms, 50), 4),
        "geocode_http_p99_ms": round(percentile(http_ms, 99), 4),
        "geocode_http_sequential_req_per_s": round(http_rps, 1),
        "http_trivial_view_p50_ms": round(percentile(trivial_ms, 50), 4),
        "raw_sql_p50_ms": round(raw_p50, 4),
        "ratio_service_to_raw": round(service_p50 / raw_p50, 2),
        **bulk,
    }
    report(
        "Geocode one point (target: service <= 2x raw prepared SQL) and in bulk (targets: "
        ">= 500,000 points/s; the command on 1 M rows <= 5 s)",
        [
            ("raw prepared SQL point->grid, p50 ms", raw_p50),
            ("service (grid+community+subdistrict+zones), p50 ms", service_p50),
            ("service p99 ms", figures["geocode_service_p99_ms"]),
            ("HTTP GET /api/v1/geocode p50 ms", figures["geocode_http_p50_ms"]),
            ("HTTP p99 ms", figures["geocode_http_p99_ms"]),
            ("HTTP GET /healthz (trivial view) p50 ms", figures["http_trivial_view_p50_ms"]),
            ("ratio service / raw", figures["ratio_service_to_raw"]),
            ("bulk: assign 1 M points, s (median)", bulk["bulk_assign_1m_s"]),
            ("bulk: points/s (target >= 500,000)", bulk["bulk_assign_points_per_s"]),
            ("bulk: `geocode` command, 1 M-row CSV, s (target <= 5)", bulk["geocode_command_1m_s"]),
            ("raw SQL grid-driven join, 1 M points, s", bulk["raw_join_1m_s"]),
            ("ratio bulk assignment / raw join", bulk["ratio_bulk_assign_to_raw_join"]),
            (
                "points in a grid: bulk / raw join",
                f"{bulk['bulk_points_in_grids']:,} / {bulk['raw_join_rows']:,}",
            ),
        ],
        figures,
    )


def bulk_figures(extent: tuple[float, float, float, float]) -> dict:
    """1 M random points in the district's box: the assignment alone, the whole command on them
    as a CSV (a subprocess, Django start-up included), and the raw SQL join, in this run."""
    import numpy as np
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from django.conf import settings

    from gridmap.services.bulk_geocode import areas_load, lonlat_assign

    west, south, east, north = extent
    rng = np.random.default_rng(8)
    lon = rng.uniform(west, east, BULK_N)
    lat = rng.uniform(south, north, BULK_N)

    areas = areas_load()
    lonlat_assign(lon=lon[:10_000], lat=lat[:10_000], areas=areas)  # warm PROJ and GEOS
    assign_s = []
    for _ in range(BULK_REPEATS):
        t0 = time.perf_counter()
        found = lonlat_assign(lon=lon, lat=lat, areas=areas)
        assign_s.append(time.perf_counter() - t0)
    in_grids = int((found.grid >= 0).sum())

    with tempfile.TemporaryDirectory(prefix="gridmap-bench-") as tmp:
        source = Path(tmp) / "cases.csv"
        kinds = np.array(["井盖破损, 需处理", '暴露垃圾 "东门"', "占道经营", ""])
        pacsv.write_csv(
            pa.table(
                {
                    "case_id": np.char.add("C", np.arange(BULK_N).astype(str)),
                    "description": kinds[rng.integers(0, len(kinds), BULK_N)],
                    "lon": np.char.mod("%.7f", lon),
                    "lat": np.char.mod("%.7f", lat),
                    "reported_at": np.full(BULK_N, "2025-05-01 08:30:00"),
                }
            ),
            source,
        )
        command_s = []
        for n in range(BULK_REPEATS):
            out = Path(tmp) / f"out{n}.csv"
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "manage.py", "geocode", "--in", str(source), "--out", str(out),
                 "--lon", "lon", "--lat", "lat"],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            command_s.append(time.perf_counter() - t0)
            os.unlink(out)

    # Raw baseline: the same points COPYed into a temporary table with a GiST index, then the
    # grid-driven join (grids outer, OFFSET 0 keeps the lateral sub-select from being flattened).
    db = settings.DATABASES["default"]
    srid = settings.GRIDMAP_SRID
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        autocommit=True,
    ) as raw:
        raw.execute("CREATE TEMP TABLE bench_lonlat (id int, lon float8, lat float8)")
        rows = io.BytesIO()
        pacsv.write_csv(
            pa.table({"id": np.arange(BULK_N, dtype=np.int32), "lon": lon, "lat": lat}),
            rows,
            pacsv.WriteOptions(include_header=False),
        )
        with raw.cursor().copy("COPY bench_lonlat FROM STDIN (FORMAT csv)") as copy:
            copy.write(rows.getvalue())
        raw.execute(
            "CREATE TEMP TABLE bench_pts AS SELECT id, ST_Transform(ST_SetSRID("
            f"ST_MakePoint(lon, lat), 4326), {srid})::geometry(Point, {srid}) AS geom "
            "FROM bench_lonlat"
        )
        raw.execute("CREATE INDEX ON bench_pts USING gist (geom)")
        raw.execute("ANALYZE bench_pts")
        join = (
            "SELECT count(*) FROM gridmap_unitgrid g CROSS JOIN LATERAL "
            "(SELECT p.id FROM bench_pts p WHERE ST_Contains(g.geom, p.geom) OFFSET 0) j"
        )
        raw.execute(join).fetchone()  # warm the cache
        join_s = []
        for _ in range(BULK_REPEATS):
            t0 = time.perf_counter()
            (raw_rows,) = raw.execute(join).fetchone()
            join_s.append(time.perf_counter() - t0)

    assign_median = statistics.median(assign_s)
    join_median = statistics.median(join_s)
    return {
        "bulk_points": BULK_N,
        "bulk_assign_1m_s": round(assign_median, 3),
        "bulk_assign_points_per_s": round(BULK_N / assign_median),
        "geocode_command_1m_s": round(statistics.median(command_s), 3),
        "geocode_command_1m_runs_s": [round(t, 3) for t in command_s],
        "raw_join_1m_s": round(join_median, 3),
        "ratio_bulk_assign_to_raw_join": round(assign_median / join_median, 2),
        "bulk_points_in_grids": in_grids,
        "raw_join_rows": int(raw_rows),
    }


if __name__ == "__main__":
    main()
