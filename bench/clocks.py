"""The escalation sweep over 1 M clock rows (10 k of them overdue), and the lag from a clock's
due time to its escalation with a real Celery worker and beat running.

Targets (issue #5): one sweep ≤ 50 ms on 1 M clocks; escalation lag p99 ≤ 10 s.

Runs in a database of its own (created, migrated, dropped), so the dev database keeps its data.
"""

import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")

TOTAL_CLOCKS = 1_000_000
DUE_CLOCKS = 10_000
CLOCKS_PER_CASE = 5
LAG_CLOCKS = 2_000
LAG_SPREAD_S = 20


def create_database() -> tuple[str, str, dict]:
    """Create an empty database on the same server; returns (name, url, connection params)."""
    import importlib

    import dj_database_url
    import psycopg

    project = importlib.import_module("gridmap.settings")
    base = dj_database_url.parse(project.DATABASES["default"]["NAME"] and project._database_url)
    # Django must import the settings again once DATABASE_URL names the bench's database.
    sys.modules.pop("gridmap.settings", None)
    name = f"gridmap_bench_clocks_{uuid.uuid4().hex[:6]}"
    params = {
        "host": base["HOST"],
        "port": base["PORT"],
        "user": base["USER"],
        "password": base["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgis://{base['USER']}:{base['PASSWORD']}@{base['HOST']}:{base['PORT']}/{name}"
    return name, url, params


def drop_database(name: str, params: dict) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(n_cases: int, n_clocks: int, n_due: int) -> None:
    """Cases and clocks by COPY: n_due clocks overdue, the rest running in the future or met."""
    from django.db import connection
    from django.utils import timezone

    from cases.models import Category
    from gridmap.models import Community

    rng = random.Random(5)
    category = Category.objects.filter(kind="event").order_by("code").first()
    community = Community.objects.order_by("code").first()
    point = community.geom.point_on_surface
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('cases_case', 'id')) "
            "FROM generate_series(1, %s)",
            [n_cases],
        )
        ids = [row[0] for row in cursor.fetchall()]
        raw = connection.connection
        with raw.cursor().copy(
            "COPY cases_case (id, number, tracking, source, category_id, stage, urgent, condition,"
            " description, address, geom, reported_at, created_at, camera_code, external_id,"
            " petitioner_name, petitioner_phone, petitioner_wants_reply, contact_email,"
            " contact_phone, community_id, subdistrict_id, historical) FROM STDIN"
        ) as copy:
            for case_id in ids:
                copy.write_row(
                    (
                        case_id,
                        f"B{case_id:09d}",
                        f"B{case_id:013d}",
                        "hotline",
                        category.pk,
                        "registered",
                        False,
                        "any",
                        "",
                        "",
                        f"SRID={point.srid};{point.wkt}",
                        now,
                        now,
                        "",
                        "",
                        "",
                        "",
                        False,
                        "",
                        "",
                        community.pk,
                        community.subdistrict_id,
                        False,
                    )
                )
        due_index = set(rng.sample(range(n_clocks), n_due))
        kinds = ["filing", "dispatch", "arrival", "feedback", "disposal"]
        with raw.cursor().copy(
            "COPY cases_clock (case_id, kind, started_at, due_at, limit_value, limit_unit,"
            " paused_s, extended_s, outcome, met_at) FROM STDIN"
        ) as copy:
            for i in range(n_clocks):
                case_id = ids[i // CLOCKS_PER_CASE]
                kind = kinds[i % CLOCKS_PER_CASE]
                if i in due_index:
                    due, outcome, met = now - timedelta(seconds=rng.uniform(1, 3600)), "open", None
                elif i % 3 == 0:
                    due = now - timedelta(hours=rng.uniform(1, 5000))
                    outcome, met = "met", due - timedelta(minutes=1)
                else:
                    due, outcome, met = now + timedelta(hours=rng.uniform(1, 500)), "open", None
                copy.write_row(
                    (
                        case_id,
                        kind,
                        due - timedelta(minutes=10),
                        due,
                        10,
                        "minutes",
                        0,
                        0,
                        outcome,
                        met,
                    )
                )
        cursor.execute("VACUUM ANALYZE cases_clock")


def time_sweep_queries() -> dict:
    """The indexed find, and one claim of a batch (rolled back, so it can be repeated)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from cases.loop.escalation import _CLAIM_SQL, ESCALATION_BATCH

    find_sql = (
        "SELECT id FROM cases_clock WHERE outcome = 'open' AND escalated_at IS NULL "
        "AND paused_at IS NULL AND due_at <= %s ORDER BY due_at LIMIT %s"
    )
    find_ms, claim_ms = [], []
    for _ in range(15):
        with connection.cursor() as cursor:
            t0 = time.perf_counter()
            cursor.execute(find_sql, [timezone.now(), ESCALATION_BATCH])
            found = cursor.fetchall()
            find_ms.append((time.perf_counter() - t0) * 1000)
        with transaction.atomic():
            with connection.cursor() as cursor:
                t0 = time.perf_counter()
                cursor.execute(_CLAIM_SQL, {"now": timezone.now(), "batch": ESCALATION_BATCH})
                claimed = cursor.fetchall()
                claim_ms.append((time.perf_counter() - t0) * 1000)
            transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + find_sql, [timezone.now(), ESCALATION_BATCH])
        plan = " ".join(row[0] for row in cursor.fetchall())
    return {
        "sweep_find_ms": statistics.median(find_ms[3:]),
        "sweep_1m_clocks_ms": statistics.median(claim_ms[3:]),
        "found": len(found),
        "claimed": len(claimed),
        "uses_index": "clock_due_sweep" in plan,
    }


def lag_with_celery(url: str, redis_url: str) -> dict:
    """Clocks falling due over LAG_SPREAD_S seconds; a real worker and beat escalate them."""
    from django.db import connection
    from django.utils import timezone

    from cases.models import Case, Clock

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "GRIDMAP_SWEEP_INTERVAL_S": "2",
    }
    logs = open(ROOT / ".local" / "bench-clocks-celery.log", "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "gridmap",
            "worker",
            "-P",
            "solo",
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=logs,
        stderr=logs,
    )
    beat = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "gridmap",
            "beat",
            "-l",
            "WARNING",
            "-S",
            "celery.beat:PersistentScheduler",
            "-s",
            str(ROOT / ".local" / "bench-beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=logs,
        stderr=logs,
    )
    try:
        time.sleep(4)  # both up, the backlog of the fill escalated
        cases = list(Case.objects.values_list("id", flat=True)[:LAG_CLOCKS])
        start = timezone.now() + timedelta(seconds=2)
        clocks = [
            Clock(
                case_id=cases[i],
                kind="filing",
                started_at=start,
                due_at=start + timedelta(seconds=LAG_SPREAD_S * i / LAG_CLOCKS),
                limit_value=1,
                limit_unit="minutes",
            )
            for i in range(LAG_CLOCKS)
        ]
        ids = [c.pk for c in Clock.objects.bulk_create(clocks)]
        deadline = time.monotonic() + LAG_SPREAD_S + 60
        while time.monotonic() < deadline:
            left = Clock.objects.filter(pk__in=ids, escalated_at__isnull=True).count()
            if not left:
                break
            time.sleep(1)
        lags = [
            (escalated - due).total_seconds()
            for escalated, due in Clock.objects.filter(
                pk__in=ids, escalated_at__isnull=False
            ).values_list("escalated_at", "due_at")
        ]
        connection.close()
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            process.wait(timeout=20)
    lags.sort()
    return {
        "lag_clocks": LAG_CLOCKS,
        "escalated": len(lags),
        "escalation_lag_p50_s": lags[len(lags) // 2] if lags else None,
        "escalation_lag_p99_s": lags[int(len(lags) * 0.99) - 1] if lags else None,
        "escalation_lag_max_s": lags[-1] if lags else None,
    }


def main() -> None:
    name, url, params = create_database()
    os.environ["DATABASE_URL"] = url
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from cases.loop import clocks_escalate_due

        call_command("migrate", verbosity=0)
        call_command("load_demo", verbosity=0)
        t0 = time.perf_counter()
        fill(TOTAL_CLOCKS // CLOCKS_PER_CASE, TOTAL_CLOCKS, DUE_CLOCKS)
        fill_s = time.perf_counter() - t0
        sweep = time_sweep_queries()
        t0 = time.perf_counter()
        escalated = clocks_escalate_due()
        escalate_s = time.perf_counter() - t0
        redis_url = settings.REDIS_URL.rsplit("/", 1)[0] + "/6"  # a queue of the bench's own
        lag = lag_with_celery(url, redis_url)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(name, params)

    from _common import report

    figures = {
        "clocks": TOTAL_CLOCKS,
        "due": DUE_CLOCKS,
        "fill_s": round(fill_s, 1),
        "sweep_find_ms": round(sweep["sweep_find_ms"], 2),
        "sweep_1m_clocks_ms": round(sweep["sweep_1m_clocks_ms"], 2),
        "sweep_uses_partial_index": sweep["uses_index"],
        "escalate_10k_s": round(escalate_s, 2),
        "escalated_in_bulk": escalated,
        **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in lag.items()},
    }
    report(
        "Escalation sweep (targets: sweep ≤ 50 ms on 1 M clocks, lag p99 ≤ 10 s)",
        [
            ("find due clocks (indexed SELECT, batch 1000), ms", figures["sweep_find_ms"]),
            (
                "one sweep: claim a batch of 1000 (UPDATE … RETURNING), ms",
                figures["sweep_1m_clocks_ms"],
            ),
            ("escalate all 10 000 (events + notifications), s", figures["escalate_10k_s"]),
            ("lag due → escalated with worker + beat, p50 s", figures["escalation_lag_p50_s"]),
            ("lag p99 s", figures["escalation_lag_p99_s"]),
            ("lag max s", figures["escalation_lag_max_s"]),
        ],
        figures,
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
