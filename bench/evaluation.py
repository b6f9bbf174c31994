"""The evaluation (考核评价) over 10 k, 100 k and 1 M cases, beside a raw baseline in the same run.

Cases of one year (2025) are generated inside PostgreSQL (``INSERT … SELECT`` over
``generate_series``: far faster than any client-side COPY), with what the loop would have
written for them: the clock rows (filing, dispatch, arrival, feedback, disposal, verification),
the events (report, file, dispatch, arrive, feedback, handle, verify, close; voids, rejections
and reworks), and the patrol-zone links the missed-report rule reads. Sources, stages and times
are drawn at random with a fixed seed: about 80 % closed, 5 % void, 5 % rejected, 10 % open, 3 %
of closed cases reworked; a third of the steps late.

For each size the whole year is evaluated by department (``evaluate``: the grouped queries for
the year, and again for the previous year for the ranking's change), by community and by
inspector, and one month (March, with February for the change) by department; the baseline
is a plain ``count(*)`` over the clock rows joined to their cases, grouped by department (one
pass over the same rows, no indicator logic).

Runs in a database of its own (created, migrated, dropped). Target (DESIGN §6): indicators over
1 M cases ≤ 3 s.
"""

import argparse
import os
import signal
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is bench/evaluation.py: the project (with its ``evaluation`` app) must come first on
# the path, the bench folder (``_common``, ``clocks``) after it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")

from clocks import drop_database  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
REPEATS = 3

# Per case: u_* random numbers drawn once, then stage, source, places and times derived from
# them in one pass (chained LATERALs), seeded by setseed() — no UPDATE of the staging table.
_STAGE_SQL = """
CREATE UNLOGGED TABLE bench_cases AS
SELECT g AS id, r.*, s.*, p.*, t1.*, t2.*, t3.*, t4.*
FROM generate_series(%(first)s, %(last)s) g
CROSS JOIN LATERAL (SELECT random() AS u_stage, random() AS u_source, random() AS u_time,
  random() AS u_cat, random() AS u_comm, random() AS u_team, random() AS u_insp,
  random() AS u_file, random() AS u_disp, random() AS u_arr, random() AS u_fb,
  random() AS u_hand, random() AS u_ver, random() AS u_rework, random() AS u_x,
  random() AS u_y, random() AS u_zone, g AS _g) r
CROSS JOIN LATERAL (SELECT
  CASE WHEN r.u_stage < 0.80 THEN 'closed' WHEN r.u_stage < 0.85 THEN 'void'
       WHEN r.u_stage < 0.90 THEN 'rejected' ELSE 'dispatched' END AS stage,
  CASE WHEN r.u_source < 0.3 THEN 'inspector' WHEN r.u_source < 0.6 THEN 'camera'
       WHEN r.u_source < 0.85 THEN 'hotline' ELSE 'public' END AS source,
  timestamptz '2025-01-01 00:00+08' + r.u_time * interval '365 days' AS reported_at,
  1 + floor(r.u_cat * %(n_categories)s)::int AS i_cat,
  1 + floor(r.u_comm * %(n_communities)s)::int AS i_comm) s
CROSS JOIN LATERAL (SELECT
  (%(categories)s::bigint[])[s.i_cat] AS category_id,
  (%(departments)s::bigint[])[s.i_cat] AS department_id,
  (%(communities)s::bigint[])[s.i_comm] AS community_id,
  (%(subdistricts)s::bigint[])[s.i_comm] AS subdistrict_id,
  (%(xs)s::float8[])[s.i_comm] + (r.u_x - 0.5) * 400 AS x,
  (%(ys)s::float8[])[s.i_comm] + (r.u_y - 0.5) * 400 AS y,
  (%(inspectors)s::bigint[])[1 + floor(r.u_insp * %(n_inspectors)s)::int] AS inspector_id,
  CASE WHEN r.u_zone < 0.7
    THEN (%(zones)s::bigint[])[1 + floor(r.u_zone / 0.7 * %(n_zones)s)::int] END AS zone_id,
  CASE WHEN s.stage IN ('closed', 'dispatched')
    THEN (%(teams)s::bigint[])[1 + floor(r.u_team * %(n_teams)s)::int] END AS team_id,
  s.reported_at + (60 + r.u_file * 360) * interval '1 second' AS filed_at) p
CROSS JOIN LATERAL (SELECT CASE WHEN s.stage IN ('closed', 'dispatched')
  THEN p.filed_at + (10 + r.u_disp * 70) * interval '1 second' END AS dispatched_at) t1
CROSS JOIN LATERAL (SELECT CASE WHEN s.stage = 'closed'
  THEN t1.dispatched_at + (180 + r.u_arr * 720) * interval '1 second' END AS arrived_at) t2
CROSS JOIN LATERAL (SELECT
  t2.arrived_at + (30 + r.u_fb * 200) * interval '1 second' AS feedback_at,
  t2.arrived_at + (600 + r.u_hand * 100000) * interval '1 second' AS handled_at,
  t2.arrived_at + (600 + r.u_hand * 100000 + 300 + r.u_ver * 4800) * interval '1 second'
    AS verified_at) t3
CROSS JOIN LATERAL (SELECT CASE s.stage
  WHEN 'closed' THEN t3.verified_at + interval '5 minutes'
  WHEN 'void' THEN p.filed_at + interval '10 minutes'
  WHEN 'rejected' THEN p.filed_at END AS closed_at) t4
"""

_CASE_SQL = """
INSERT INTO cases_case (id, number, tracking, source, category_id, stage, urgent, condition,
  description, address, geom, reported_at, created_at, camera_code, external_id,
  petitioner_name, petitioner_phone, petitioner_wants_reply, contact_email, contact_phone,
  community_id, subdistrict_id, department_id, team_id, reporter_id, verifier_id, closed_at,
  verified_at, historical)
SELECT id, 'B' || lpad(id::text, 10, '0'), 'B' || lpad(id::text, 14, '0'), source,
  category_id, stage, FALSE, 'any', '', '', ST_SetSRID(ST_MakePoint(x, y), %(srid)s),
  reported_at, reported_at, '', '', '', '', FALSE, '', '', community_id, subdistrict_id,
  department_id, team_id, CASE WHEN source = 'inspector' THEN inspector_id END,
  CASE WHEN stage = 'closed' THEN inspector_id END, closed_at, verified_at, TRUE
FROM bench_cases
"""

_ZONE_SQL = """
INSERT INTO cases_case_zones (case_id, responsibilityzone_id)
SELECT id, zone_id FROM bench_cases WHERE zone_id IS NOT NULL
"""

# kind, started by, stopped by, limit (s), unit
_CLOCKS = (
    ("filing", "reported_at", "filed_at", 300, "minutes"),
    ("dispatch", "filed_at", "dispatched_at", 60, "minutes"),
    ("arrival", "dispatched_at", "arrived_at", 600, "minutes"),
    ("feedback", "arrived_at", "feedback_at", 180, "minutes"),
    ("disposal", "dispatched_at", "handled_at", 86400, "working_hours"),
    ("verification", "handled_at", "verified_at", 3600, "working_hours"),
)

# kind, column, from stage, to stage
_EVENTS = (
    ("report", "reported_at", "", "reported"),
    ("file", "filed_at", "reported", "registered"),
    ("dispatch", "dispatched_at", "registered", "dispatched"),
    ("arrive", "arrived_at", "dispatched", "on_scene"),
    ("feedback", "feedback_at", "on_scene", "on_scene"),
    ("handle", "handled_at", "on_scene", "handled"),
    ("verify", "verified_at", "handled", "handled"),
    ("close", "closed_at", "handled", "closed"),
)


def _clock_sql(kind, start, stop, limit_s, unit) -> str:
    # Stopped clocks: met or late against start + limit; running ones stay open; a void case's
    # running clocks are cancelled.
    return f"""
    INSERT INTO cases_clock (case_id, kind, started_at, due_at, limit_value, limit_unit,
      paused_s, extended_s, met_at, outcome)
    SELECT id, '{kind}', {start}, {start} + {limit_s} * interval '1 second',
      {limit_s / (60 if unit == "minutes" else 3600)}, '{unit}', 0, 0,
      CASE WHEN {stop} IS NOT NULL THEN {stop} WHEN stage = 'void' THEN closed_at END,
      CASE WHEN {stop} IS NULL THEN (CASE WHEN stage = 'void' THEN 'cancelled' ELSE 'open' END)
           WHEN {stop} <= {start} + {limit_s} * interval '1 second' THEN 'met' ELSE 'late' END
    FROM bench_cases WHERE {start} IS NOT NULL
    """


def _event_sql(kind, column, from_stage, to_stage) -> str:
    return f"""
    INSERT INTO cases_caseevent (case_id, kind, at, from_stage, to_stage, note, data,
      idempotency_key)
    SELECT id, '{kind}', {column}, '{from_stage}', '{to_stage}', '', '{{}}', ''
    FROM bench_cases WHERE {column} IS NOT NULL
      AND ('{kind}' <> 'close' OR stage = 'closed')
      AND ('{kind}' <> 'file' OR stage <> 'rejected')
    """


_EXTRA_EVENTS_SQL = """
INSERT INTO cases_caseevent (case_id, kind, at, from_stage, to_stage, note, data, idempotency_key)
SELECT id, 'reject', filed_at, 'reported', 'rejected', '', '{}'::jsonb, '' FROM bench_cases
  WHERE stage = 'rejected'
UNION ALL
SELECT id, 'approve_void', closed_at, 'registered', 'void', '', '{}'::jsonb, '' FROM bench_cases
  WHERE stage = 'void'
UNION ALL
SELECT id, 'verify', handled_at + interval '1 minute', 'handled', 'dispatched', '',
  '{"result": "failed", "rework": true}'::jsonb, '' FROM bench_cases
  WHERE stage = 'closed' AND u_rework < 0.03
"""


def fill(first: int, last: int, seed: float) -> float:
    """Cases ``first``..``last`` with their clocks, events and zone links; seconds taken."""
    from django.conf import settings
    from django.db import connection

    from cases.durations import durations_fill
    from cases.models import Category
    from gridmap.models import Community, ResponsibilityZone, Team, User

    categories = list(
        Category.objects.filter(department__isnull=False).values_list("pk", "department_id")
    )
    communities = list(Community.objects.all())
    points = [c.geom.point_on_surface for c in communities]
    params = {
        "first": first,
        "last": last,
        "categories": [c for c, _ in categories],
        "departments": [d for _, d in categories],
        "n_categories": len(categories),
        "communities": [c.pk for c in communities],
        "subdistricts": [c.subdistrict_id for c in communities],
        "xs": [p.x for p in points],
        "ys": [p.y for p in points],
        "n_communities": len(communities),
        "teams": list(Team.objects.values_list("pk", flat=True)),
        "inspectors": list(User.objects.filter(role="inspector").values_list("pk", flat=True)),
        "zones": list(
            ResponsibilityZone.objects.filter(kind="patrol").values_list("pk", flat=True)
        ),
        "srid": settings.GRIDMAP_SRID,
    }
    params.update(
        n_teams=len(params["teams"]),
        n_inspectors=len(params["inspectors"]),
        n_zones=len(params["zones"]),
    )
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute("DROP TABLE IF EXISTS bench_cases")
        cursor.execute(_STAGE_SQL, params)
        cursor.execute(_CASE_SQL, params)
        cursor.execute(_ZONE_SQL)
        for spec in _CLOCKS:
            cursor.execute(_clock_sql(*spec))
        durations_fill()  # as the archive importer does
        for spec in _EVENTS:
            cursor.execute(_event_sql(*spec))
        cursor.execute(_EXTRA_EVENTS_SQL)
        cursor.execute("DROP TABLE bench_cases")
        cursor.execute("SELECT setval(pg_get_serial_sequence('cases_case', 'id'), %s)", [last])
        for table in ("cases_case", "cases_clock", "cases_caseevent", "cases_case_zones"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - t0


def raw_baseline() -> float:
    """One grouped count over the clock rows joined to their cases (seconds, median)."""
    from django.db import connection

    sql = (
        "SELECT c.department_id, count(*) FROM cases_clock k JOIN cases_case c "
        "ON c.id = k.case_id GROUP BY c.department_id"
    )
    times = []
    with connection.cursor() as cursor:
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_evaluate(kind: str, first=date(2025, 1, 1), end=date(2026, 1, 1)) -> tuple[float, dict]:
    """Median seconds of ``evaluate(kind, [first, end))`` (with the previous period for the
    change); by default the whole year 2025."""
    from evaluation.indicators import Period
    from evaluation.selectors import evaluate

    period = Period.from_dates(first, end)
    times, result = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = evaluate(kind, period)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result.as_json()


def create_database() -> tuple[str, str, dict]:
    """An empty database of the bench's own on the project's server: (name, url, params)."""
    import importlib

    import dj_database_url
    import psycopg

    project = importlib.import_module("gridmap.settings")
    base = dj_database_url.parse(project._database_url)
    # Django must import the settings again once DATABASE_URL names the bench's database.
    sys.modules.pop("gridmap.settings", None)
    name = f"gridmap_bench_evaluation_{uuid.uuid4().hex[:6]}"
    params = {k.lower(): base[k] for k in ("HOST", "PORT", "USER", "PASSWORD")}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgis://{base['USER']}:{base['PASSWORD']}@{base['HOST']}:{base['PORT']}/{name}"
    return name, url, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (its name is printed)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    name, url, params = create_database()
    print(f"database {name}", flush=True)
    os.environ["DATABASE_URL"] = url
    # A terminated run still drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows, figures = [], {}
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("load_demo", verbosity=0)
        done = 0
        for size in sizes:
            label = f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}m"
            fill_s = fill(done + 1, size, seed=0.5)
            done = size
            baseline = raw_baseline()
            department_s, data = time_evaluate("department")
            community_s, _ = time_evaluate("community")
            inspector_s, _ = time_evaluate("inspector")
            month_s, _ = time_evaluate("department", date(2025, 3, 1), date(2025, 4, 1))
            reported = sum(u["counts"].get("reported", 0) for u in data["units"])
            figures.update(
                {
                    f"evaluate_{label}_s": round(department_s, 2),
                    f"evaluate_community_{label}_s": round(community_s, 2),
                    f"evaluate_inspector_{label}_s": round(inspector_s, 2),
                    f"evaluate_month_{label}_s": round(month_s, 2),
                    f"raw_clock_count_{label}_s": round(baseline, 3),
                    f"ratio_{label}_to_raw": round(department_s / baseline, 1),
                    f"fill_{label}_s": round(fill_s, 1),
                }
            )
            rows += [
                (f"{label}: generate cases, clocks, events (s)", fill_s),
                (f"{label}: raw grouped count over clock rows (s)", baseline),
                (f"{label}: evaluate by department, year + previous (s)", department_s),
                (f"{label}: evaluate by community (s)", community_s),
                (f"{label}: evaluate by inspector (s)", inspector_s),
                (f"{label}: evaluate March by department, + February (s)", month_s),
                (f"{label}: cases reported in the year (all units)", reported),
            ]
            print(rows[-5:], flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(name, params)

    from _common import report

    report("Evaluation over 10 k / 100 k / 1 M cases (target: 1 M ≤ 3 s)", rows, figures)


if __name__ == "__main__":
    main()
