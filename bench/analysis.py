"""Analysis at 10 k, 100 k and 1 M cases: heatmap, Gi* hotspots on 10,000 unit grids (analytic
and 999 permutations), a GeoPackage export of 100 k cases; raw baselines in the same run.

A database of its own (created, dropped at the end): a square district of 10 km × 10 km split
into 10 communities and 100 × 100 unit grids of 100 m (10,000 m², the standard's size), and
cases generated in the server (``INSERT … SELECT generate_series``: 1 M rows in seconds) — 30 %
in 20 clusters of σ = 60 m, the rest uniform, over a year — each in its grid and community.
The counts grow 10 k → 100 k → 1 M; each figure is the median of three runs.

Figures (targets of DESIGN §6): ``heatmap_*_s`` — the whole heatmap service as the API runs it
(read the filtered points, kernel density at 25 m / 150 m quartic, write the GeoTIFF; ≤ 3 s at
1 M); ``hotspots_10k_grids_s`` — the hotspot service with analytic p-values, trend labels
included, at 100 k cases (≤ 1 s); ``..._perm999_s`` with 999 permutations (≤ 3 s);
``export_gpkg_100k_s`` — the GeoPackage export of 100 k cases (≤ 10 s). Baselines:
``raw_select_points_*_s`` (a plain ``SELECT ST_X, ST_Y`` of the same points fetched by a
cursor), ``raw_esda_gi_10k_s`` (esda's Gi* alone on precomputed counts and weights) and
``raw_select_rows_100k_s`` (the exported columns fetched by a cursor).
"""

import os
import statistics
import sys
import time

from _common import report
from intake import BenchDatabase, base_database_url

SIDE = 100
CELL_M = 100.0
ORIGIN = (470_000.0, 3_830_000.0)  # EPSG:4547, near the demo district
COMMUNITIES = 10
SIZES = (10_000, 100_000, 1_000_000)
RUNS = 3
CLUSTERS = 20


def timed(fn, runs: int = RUNS) -> float:
    """Median seconds of ``runs`` calls."""
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return statistics.median(out)


def build_district(cursor, srid: int) -> None:
    """District, subdistrict, 10 communities (1 km wide strips) and 100 × 100 grids, in order
    (row-major from the south-west), so that a grid's id is the first id + row * 100 + col."""
    x0, y0 = ORIGIN
    side = SIDE * CELL_M

    def box(x_min, y_min, x_max, y_max) -> str:
        return (
            f"ST_Multi(ST_Transform(ST_MakeEnvelope({x_min}, {y_min}, {x_max}, {y_max}, 4547), "
            f"{srid}))"
        )

    cursor.execute(
        "INSERT INTO gridmap_district (code, name, geom) "
        f"VALUES ('410198', '基准区', {box(x0, y0, x0 + side, y0 + side)}) RETURNING id"
    )
    district = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO gridmap_subdistrict (code, name, geom, district_id) "
        f"VALUES ('410198001', '基准街道', {box(x0, y0, x0 + side, y0 + side)}, %s) RETURNING id",
        [district],
    )
    subdistrict = cursor.fetchone()[0]
    strip = side / COMMUNITIES
    cursor.execute(
        "INSERT INTO gridmap_community (code, name, geom, subdistrict_id) "
        "SELECT '410198001' || lpad((k + 1)::text, 3, '0'), '基准社区' || (k + 1), "
        f"{box(f'{x0} + k * {strip}', y0, f'{x0} + (k + 1) * {strip}', y0 + side)}, %s "
        f"FROM generate_series(0, {COMMUNITIES - 1}) AS k ORDER BY k",
        [subdistrict],
    )
    per = SIDE // COMMUNITIES
    grid = box(
        f"{x0} + g.col * {CELL_M}",
        f"{y0} + r * {CELL_M}",
        f"{x0} + (g.col + 1) * {CELL_M}",
        f"{y0} + (r + 1) * {CELL_M}",
    )
    cursor.execute(
        "INSERT INTO gridmap_unitgrid (code, name, geom, land_use, area_m2, community_id) "
        "SELECT c.code || lpad((r * %s + mod(g.col, %s) + 1)::text, 4, '0'), "
        f"'网格 ' || r || '-' || g.col, {grid}, 'mixed', {CELL_M * CELL_M}, c.id "
        f"FROM generate_series(0, {SIDE - 1}) AS r, generate_series(0, {SIDE - 1}) AS g(col) "
        "JOIN gridmap_community c "
        "ON c.code = '410198001' || lpad((g.col / %s + 1)::text, 3, '0') "
        "ORDER BY r, g.col",
        [per, per, per],
    )


def add_cases(cursor, *, first: int, last: int, srid: int, categories: list[int]) -> None:
    """Cases numbered ``first`` … ``last - 1``, generated in the server."""
    rng_centres = [
        (ORIGIN[0] + 500 + (k * 3_779) % 9_000, ORIGIN[1] + 500 + (k * 6_133) % 9_000)
        for k in range(CLUSTERS)
    ]
    cx = "ARRAY[" + ",".join(f"{c[0]}" for c in rng_centres) + "]::float8[]"
    cy = "ARRAY[" + ",".join(f"{c[1]}" for c in rng_centres) + "]::float8[]"
    cats = "ARRAY[" + ",".join(map(str, categories)) + "]::bigint[]"
    cursor.execute(
        f"""
        WITH p AS (
          SELECT i,
            CASE WHEN mod(i, 10) < 3
              THEN ({cx})[mod(i, {CLUSTERS}) + 1] + 60 * sqrt(-2 * ln(1 - random()))
                   * cos(2 * pi() * random())
              ELSE {ORIGIN[0]} + random() * {SIDE * CELL_M} END AS x,
            CASE WHEN mod(i, 10) < 3
              THEN ({cy})[mod(i, {CLUSTERS}) + 1] + 60 * sqrt(-2 * ln(1 - random()))
                   * sin(2 * pi() * random())
              ELSE {ORIGIN[1]} + random() * {SIDE * CELL_M} END AS y
          FROM generate_series(%s, %s) AS i
        ), q AS (
          SELECT i, least(greatest(x, {ORIGIN[0]} + 0.01), {ORIGIN[0] + SIDE * CELL_M - 0.01}) AS x,
                 least(greatest(y, {ORIGIN[1]} + 0.01), {ORIGIN[1] + SIDE * CELL_M - 0.01}) AS y
          FROM p
        ), g AS (
          SELECT q.*, floor((x - {ORIGIN[0]}) / {CELL_M})::int AS col,
                 floor((y - {ORIGIN[1]}) / {CELL_M})::int AS row FROM q
        ), t AS (
          SELECT g.*, timestamptz '2025-11-01 00:00+08' + random() * interval '365 days' AS at
          FROM g
        )
        INSERT INTO cases_case (
          number, tracking, source, stage, urgent, condition, description, address, geom,
          reported_at, created_at, camera_code, external_id, petitioner_name, petitioner_phone,
          petitioner_wants_reply, contact_email, contact_phone, closed_at, historical,
          category_id, grid_id, community_id, subdistrict_id)
        SELECT 'B' || lpad(i::text, 9, '0'), 'BT' || i,
          (ARRAY['inspector','camera','hotline','public'])[mod(i, 4) + 1], 'closed', false, 'any',
          '基准案卷', '', ST_Transform(ST_SetSRID(ST_MakePoint(x, y), 4547), {srid}),
          at, now(), '', '', '', '', false, '', '', at + interval '3 hours', true,
          ({cats})[mod(i, {len(categories)}) + 1],
          (SELECT min(id) FROM gridmap_unitgrid) + row * {SIDE} + col,
          (SELECT min(id) FROM gridmap_community) + col / {SIDE // COMMUNITIES},
          (SELECT min(id) FROM gridmap_subdistrict)
        FROM t
        """,
        [first, last - 1],
    )


def gi_alone(cells, w) -> None:
    import esda

    esda.G_Local(cells.counts, w, transform="B", star=True, permutations=0)


def main() -> int:
    with BenchDatabase(base_database_url()) as bench:
        os.environ["DATABASE_URL"] = bench.url
        from _common import setup_django

        setup_django(load_demo=False)
        return run()


def run() -> int:
    from django.db import connection

    from analysis.hotspots import cells_count, contiguity, hotspot_params_parse, weights
    from analysis.selection import selection_parse
    from analysis.services import export_run, heatmap_run, hotspots_run
    from cases.models import Category
    from gridmap.models import STORAGE_SRID

    rows: list[tuple[str, object]] = []
    figures: dict[str, float] = {}
    categories = list(Category.objects.filter(kind="event").values_list("id", flat=True)[:12])
    started = time.perf_counter()
    with connection.cursor() as cursor:
        build_district(cursor, STORAGE_SRID)
    rows.append(("district: 10,000 grids of 100 m built (s)", time.perf_counter() - started))

    def raw_points() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT ST_X(geom), ST_Y(geom) FROM cases_case")
            cursor.fetchall()

    have = 0
    for size in SIZES:
        label = {10_000: "10k", 100_000: "100k", 1_000_000: "1m"}[size]
        started = time.perf_counter()
        with connection.cursor() as cursor:
            add_cases(cursor, first=have, last=size, srid=STORAGE_SRID, categories=categories)
            cursor.execute("ANALYZE cases_case")
        have = size
        rows.append((f"{label}: cases generated (s)", time.perf_counter() - started))
        figures[f"raw_select_points_{label}_s"] = round(timed(raw_points), 3)
        figures[f"heatmap_{label}_s"] = round(timed(lambda: heatmap_run({"format": "tiff"})), 3)
        rows.append(
            (f"{label}: raw SELECT of the points (s)", figures[f"raw_select_points_{label}_s"])
        )
        rows.append((f"{label}: heatmap, 25 m cells, GeoTIFF (s)", figures[f"heatmap_{label}_s"]))
        if size == 100_000:
            figures["hotspots_10k_grids_s"] = round(timed(lambda: hotspots_run({})), 3)
            figures["hotspots_10k_grids_perm999_s"] = round(
                timed(lambda: hotspots_run({"permutations": "999"})), 3
            )
            cells = cells_count(selection_parse({}), hotspot_params_parse())
            w = weights(contiguity(cells.geoms))
            figures["raw_esda_gi_10k_s"] = round(timed(lambda c=cells, w=w: gi_alone(c, w)), 3)
            figures["export_gpkg_100k_s"] = round(
                timed(lambda: export_run({"format": "gpkg"}), runs=2), 3
            )

            def raw_rows() -> None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT c.number, k.code, k.minor_name, c.source, c.stage, m.name, "
                        "g.code, c.reported_at, c.closed_at, c.address, c.description, "
                        "ST_AsBinary(c.geom) FROM cases_case c "
                        "JOIN cases_category k ON k.id = c.category_id "
                        "LEFT JOIN gridmap_community m ON m.id = c.community_id "
                        "LEFT JOIN gridmap_unitgrid g ON g.id = c.grid_id"
                    )
                    cursor.fetchall()

            figures["raw_select_rows_100k_s"] = round(timed(raw_rows), 3)
            rows += [
                ("100k: hotspots on 10k grids, analytic (s)", figures["hotspots_10k_grids_s"]),
                ("100k: hotspots, 999 permutations (s)", figures["hotspots_10k_grids_perm999_s"]),
                ("10k grids: esda Gi* alone (s)", figures["raw_esda_gi_10k_s"]),
                ("100k: GeoPackage export (s)", figures["export_gpkg_100k_s"]),
                ("100k: raw SELECT of the exported columns (s)", figures["raw_select_rows_100k_s"]),
            ]
        if size == 1_000_000:
            figures["heatmap_1m_png_s"] = round(timed(lambda: heatmap_run({"format": "png"})), 3)
            figures["hotspots_10k_grids_1m_cases_s"] = round(timed(lambda: hotspots_run({})), 3)
            rows += [
                ("1m: heatmap as PNG overlay (s)", figures["heatmap_1m_png_s"]),
                (
                    "1m: hotspots on 10k grids, analytic (s)",
                    figures["hotspots_10k_grids_1m_cases_s"],
                ),
            ]
    figures["ratio_heatmap_1m_to_raw_select"] = round(
        figures["heatmap_1m_s"] / figures["raw_select_points_1m_s"], 2
    )
    report("Analysis: heatmaps, hotspots, exports (bench/analysis.py)", rows, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
