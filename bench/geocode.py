"""Geocode one point: the service, over HTTP, and the raw prepared SQL lookup in the same run.

Target (DESIGN §6): the service within 2x the raw prepared point→grid lookup.
"""

import http.client
import random
import time

from _common import WebServer, percentile, report, setup_django, timed

N = 2000


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
    }
    report(
        "Geocode one point (target: service <= 2x raw prepared SQL)",
        [
            ("raw prepared SQL point->grid, p50 ms", raw_p50),
            ("service (grid+community+subdistrict+zones), p50 ms", service_p50),
            ("service p99 ms", figures["geocode_service_p99_ms"]),
            ("HTTP GET /api/v1/geocode p50 ms", figures["geocode_http_p50_ms"]),
            ("HTTP p99 ms", figures["geocode_http_p99_ms"]),
            ("HTTP GET /healthz (trivial view) p50 ms", figures["http_trivial_view_p50_ms"]),
            ("ratio service / raw", figures["ratio_service_to_raw"]),
        ],
        figures,
    )


if __name__ == "__main__":
    main()
