"""Viewsheds of 600 cameras among 5,000 buildings, and coverage of 1,000 unit grids.

A generated town in a database of its own (created, migrated, dropped): a 4 km x 2.5 km street
grid (a road every 200 m, ~500 segments), 5,000 building footprints in its blocks, 1,000 unit
grids of 100 m x 100 m in 10 communities, and 600 cameras — at junctions facing along a street,
on building walls facing out, and one in ten a PTZ dome — with ranges of 30–150 m.

Figures, each the median of ``ROUNDS`` runs:

- ``viewsheds_600_s``: ``viewsheds_compute`` for all 600 cameras as ``compute_viewsheds`` runs it
  (read the footprints, compute, one UPDATE), against the raw baseline ``sectors_600_s``: the
  same cameras' plain sectors (no occlusion) written the same way;
- ``catch_up_sweep_ms``: one periodic catch-up with nothing changed (digests of every camera
  and footprint compared with those kept in Redis);
- ``coverage_1000_grids_s``: ``coverage_compute`` (grids, communities, roads and blind spots,
  with the WGS-84 GeoJSON the API serves), against ``coverage_postgis_s``: the grid statistics
  alone in one PostGIS query (union of the viewsheds per grid, intersected, area), and the
  cached read an API request costs.

Targets (DESIGN §6, issue #7): viewsheds_600_s <= 5, coverage_1000_grids_s <= 2.
"""

import math
import os
import random
import statistics
import time

from _common import report
from intake import BenchDatabase, base_database_url

CAMERAS = 600
BUILDINGS = 5_000
ROUNDS = 3
WIDTH_M, HEIGHT_M = 4_000, 2_500
BLOCK_M = 200
STREET_M = 20
GRID_M = 100
#: The town's south-west corner in the storage CRS (EPSG:4547 near Zhengzhou).
ORIGIN = (480_000.0, 3_840_000.0)


def _rect(x0: float, y0: float, x1: float, y1: float):
    from django.contrib.gis.geos import MultiPolygon, Polygon

    from gridmap.models import STORAGE_SRID

    ox, oy = ORIGIN
    ring = ((ox + x0, oy + y0), (ox + x1, oy + y0), (ox + x1, oy + y1), (ox + x0, oy + y1))
    return MultiPolygon(Polygon((*ring, ring[0])), srid=STORAGE_SRID)


def _point(x: float, y: float):
    from django.contrib.gis.geos import Point

    from gridmap.models import STORAGE_SRID

    return Point(ORIGIN[0] + x, ORIGIN[1] + y, srid=STORAGE_SRID)


def build_town(rng: random.Random) -> list[tuple[float, float, float, float]]:
    """Areas, roads and buildings; returns the footprints (x0, y0, x1, y1, local metres)."""
    from django.contrib.gis.geos import LineString

    from gridmap.models import (
        STORAGE_SRID,
        Building,
        Community,
        District,
        Road,
        Subdistrict,
        UnitGrid,
    )

    district = District.objects.create(code="419999", name="基准区", geom=_rect(0, 0, 4000, 2500))
    sub = Subdistrict.objects.create(
        code="419999001", name="基准街道", district=district, geom=_rect(0, 0, 4000, 2500)
    )
    communities = {}
    for i in range(5):
        for j, (y0, y1) in enumerate(((0, 1300), (1300, 2500))):
            code = f"419999001{i * 2 + j + 1:03d}"
            communities[i, j] = Community.objects.create(
                code=code, name=f"社区{i * 2 + j + 1}", subdistrict=sub,
                geom=_rect(i * 800, y0, (i + 1) * 800, y1),
            )  # fmt: skip
    grids = []
    for gx in range(WIDTH_M // GRID_M):
        for gy in range(HEIGHT_M // GRID_M):
            community = communities[gx // 8, 0 if gy < 13 else 1]
            grids.append(
                UnitGrid(
                    code=f"{community.code}{len(grids) + 1:04d}",
                    community=community,
                    geom=_rect(gx * GRID_M, gy * GRID_M, (gx + 1) * GRID_M, (gy + 1) * GRID_M),
                    area_m2=GRID_M * GRID_M,
                )
            )
    UnitGrid.objects.bulk_create(grids)
    ox, oy = ORIGIN
    roads = []
    for x in range(0, WIDTH_M + 1, BLOCK_M):
        for y in range(0, HEIGHT_M - BLOCK_M + 1, BLOCK_M):
            roads.append(((x, y), (x, min(y + BLOCK_M, HEIGHT_M))))
    for y in range(0, HEIGHT_M + 1, BLOCK_M):
        for x in range(0, WIDTH_M, BLOCK_M):
            roads.append(((x, y), (x + BLOCK_M, y)))
    Road.objects.bulk_create(
        Road(
            code=f"R{k:04d}",
            road_class=Road.RoadClass.BRANCH,
            geom=LineString([(ox + a, oy + b) for a, b in ends], srid=STORAGE_SRID),
        )
        for k, ends in enumerate(roads)
    )
    footprints = []
    cells = [
        (bx, by) for bx in range(0, WIDTH_M, BLOCK_M) for by in range(0, HEIGHT_M - 100, BLOCK_M)
    ]
    per_block = math.ceil(BUILDINGS / len(cells))
    cols, rows = 5, math.ceil(per_block / 5)
    inner = BLOCK_M - 2 * STREET_M
    cw, ch = inner / cols, inner / rows
    for bx, by in cells:
        for k in range(per_block):
            if len(footprints) == BUILDINGS:
                break
            cx = bx + STREET_M + (k % cols) * cw
            cy = by + STREET_M + (k // cols) * ch
            w, h = rng.uniform(0.45, 0.9) * cw, rng.uniform(0.45, 0.9) * ch
            x0, y0 = cx + rng.uniform(0, cw - w), cy + rng.uniform(0, ch - h)
            footprints.append((x0, y0, x0 + w, y0 + h))
    Building.objects.bulk_create(
        Building(code=f"B{k:05d}", geom=_rect(*f)) for k, f in enumerate(footprints)
    )
    return footprints


def place_cameras(rng: random.Random, footprints) -> None:
    """600 cameras: half at junction corners facing along a street, a third on the wall of a
    building facing the street, the rest PTZ domes at junctions."""
    from cameras.models import Camera

    cameras = []
    junctions = [
        (x, y) for x in range(0, WIDTH_M + 1, BLOCK_M) for y in range(0, HEIGHT_M - 100, BLOCK_M)
    ]
    while len(cameras) < CAMERAS:
        kind = rng.random()
        fields = {"range_m": rng.uniform(30, 150), "fov_deg": rng.uniform(40, 100)}
        if kind < 0.5:
            x, y = rng.choice(junctions)
            x, y = x + rng.choice((-8, 8)), y + rng.choice((-8, 8))
            fields["heading_deg"] = rng.choice((0, 90, 180, 270)) + rng.uniform(-10, 10)
        elif kind < 0.85:
            x0, y0, x1, y1 = rng.choice(footprints)
            side = rng.randrange(4)
            # Surveyed on the wall (a few centimetres either side of it), facing out.
            x, y, heading = [
                ((x0 + x1) / 2, y0, 180),
                (x1, (y0 + y1) / 2, 90),
                ((x0 + x1) / 2, y1, 0),
                (x0, (y0 + y1) / 2, 270),
            ][side]
            x, y = x + rng.uniform(-0.03, 0.03), y + rng.uniform(-0.03, 0.03)
            fields["heading_deg"] = heading
        else:
            x, y = rng.choice(junctions)
            fields.update(ptz=True, heading_deg=0.0)
        fields["heading_deg"] %= 360
        cameras.append(Camera(code=f"CAM{len(cameras):04d}", geom=_point(x, y), **fields))
    Camera.objects.bulk_create(cameras)


def viewshed_figures() -> dict:
    import shapely
    from django.db import transaction

    from cameras import viewshed as vs
    from cameras.models import Camera

    def occluded() -> float:
        cameras = list(Camera.objects.all())
        t0 = time.perf_counter()
        with transaction.atomic():
            run = vs.viewsheds_compute(cameras)
        assert run.cameras == CAMERAS
        return time.perf_counter() - t0

    def plain_sectors() -> float:
        cameras = list(Camera.objects.all())
        t0 = time.perf_counter()
        with transaction.atomic():
            sectors = [
                shapely.MultiPolygon([vs.sector(c.geom.x, c.geom.y, c.heading_deg,
                                                c.effective_fov_deg, c.range_m)])
                for c in cameras
            ]  # fmt: skip
            vs._store(cameras, sectors)
        return time.perf_counter() - t0

    sectors_s = statistics.median(plain_sectors() for _ in range(ROUNDS))
    viewsheds_s = statistics.median(occluded() for _ in range(ROUNDS))
    with transaction.atomic():
        stats = Camera.objects.raw(
            "SELECT 1 AS id, avg(ST_NPoints(viewshed_geom)) AS points, "
            "avg(ST_Area(viewshed_geom)) AS area, "
            "count(*) FILTER (WHERE ST_IsEmpty(viewshed_geom)) AS blind FROM cameras_camera"
        )[0]
    vs.viewsheds_catch_up()  # records the digests
    t0 = time.perf_counter()
    vs.viewsheds_catch_up()
    catch_up_ms = (time.perf_counter() - t0) * 1000
    return {
        "viewsheds_600_s": round(viewsheds_s, 3),
        "catch_up_sweep_ms": round(catch_up_ms, 1),
        "sectors_600_s": round(sectors_s, 3),
        "ratio_viewsheds_to_sectors": round(viewsheds_s / sectors_s, 1),
        "viewshed_points_avg": round(float(stats.points), 1),
        "viewshed_area_avg_m2": round(float(stats.area), 1),
        "cameras_seeing_nothing": int(stats.blind),
    }


_POSTGIS_COVERAGE = """
SELECT g.id, ST_Area(g.geom),
       coalesce(ST_Area(ST_Intersection(g.geom, ST_Union(c.viewshed_geom))), 0)
  FROM gridmap_unitgrid g
  LEFT JOIN cameras_camera c ON ST_Intersects(c.viewshed_geom, g.geom)
 GROUP BY g.id
"""


def coverage_figures() -> dict:
    from django.core.cache import cache
    from django.db import connection

    from cameras import coverage as cov

    def full() -> tuple[float, cov.Coverage]:
        t0 = time.perf_counter()
        result = cov.coverage_compute()
        return time.perf_counter() - t0, result

    def postgis() -> tuple[float, float]:
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(_POSTGIS_COVERAGE)
            rows = cursor.fetchall()
        return time.perf_counter() - t0, sum(r[2] for r in rows) / sum(r[1] for r in rows)

    runs = [full() for _ in range(ROUNDS)]
    result = runs[-1][1]
    stats_only = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        cov.coverage_compute(geojson=False)
        stats_only.append(time.perf_counter() - t0)
    sql = [postgis() for _ in range(ROUNDS)]
    cache.clear()
    cov.coverage_current()  # computes and caches
    cached = []
    for _ in range(20):
        t0 = time.perf_counter()
        cov.coverage_current()
        cached.append((time.perf_counter() - t0) * 1000)
    grids = result.grids
    share = sum(t.covered for t in grids) / sum(t.size for t in grids)
    assert len(grids) == 1000
    assert abs(share - sql[-1][1]) < 1e-6, (share, sql[-1][1])
    roads = result.roads
    return {
        "coverage_1000_grids_s": round(statistics.median(r[0] for r in runs), 3),
        "coverage_statistics_only_s": round(statistics.median(stats_only), 3),
        "coverage_postgis_s": round(statistics.median(s[0] for s in sql), 3),
        "coverage_cached_read_ms": round(statistics.median(cached), 2),
        "grid_area_covered": round(share, 4),
        "road_length_covered": round(sum(t.covered for t in roads) / sum(t.size for t in roads), 4),
        "grids_wholly_blind": sum(1 for t in grids if t.covered == 0),
    }


def main() -> None:
    with BenchDatabase(base_database_url()) as bench_db:
        os.environ["DATABASE_URL"] = bench_db.url
        from _common import setup_django

        setup_django(load_demo=False)
        rng = random.Random(7)
        t0 = time.perf_counter()
        footprints = build_town(rng)
        place_cameras(rng, footprints)
        build_s = time.perf_counter() - t0
        figures = {
            "database": "dropped after the run",
            "cameras": CAMERAS,
            "buildings": len(footprints),
            "build_town_s": round(build_s, 1),
            **viewshed_figures(),
            **coverage_figures(),
        }
    report(
        "Viewsheds of 600 cameras among 5,000 buildings (target <= 5 s) and coverage of "
        "1,000 unit grids (target <= 2 s), medians of 3 runs",
        [
            ("viewsheds, 600 cameras, s (target <= 5)", figures["viewsheds_600_s"]),
            ("raw baseline: plain sectors, 600 cameras, s", figures["sectors_600_s"]),
            ("ratio viewsheds / sectors", figures["ratio_viewsheds_to_sectors"]),
            ("viewshed vertices (mean)", figures["viewshed_points_avg"]),
            (
                "catch-up sweep (digests of 5,000 buildings, 600 cameras), ms",
                figures["catch_up_sweep_ms"],
            ),
            ("viewshed area (mean), m²", figures["viewshed_area_avg_m2"]),
            (
                "coverage of 1,000 grids + roads + blind spots, s (target <= 2)",
                figures["coverage_1000_grids_s"],
            ),
            ("coverage, statistics only (no GeoJSON), s", figures["coverage_statistics_only_s"]),
            (
                "raw baseline: grid statistics in one PostGIS query, s",
                figures["coverage_postgis_s"],
            ),
            ("coverage read from the cache, ms", figures["coverage_cached_read_ms"]),
            ("grid area covered", figures["grid_area_covered"]),
            ("road length covered", figures["road_length_covered"]),
        ],
        figures,
    )


if __name__ == "__main__":
    main()
