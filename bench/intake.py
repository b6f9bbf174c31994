"""Case intake over HTTP beside a trivial view in the same run, and `import_cases` on 100 k rows.

JSON cases (no files) are POSTed to /api/v1/cases at concurrency 8 against 2 web workers
(gunicorn + uvicorn, as `make run` starts them) by an operator authenticated with a DRF token
(session or Basic auth would measure password hashing, not intake); /healthz (one ``SELECT 1``)
is hammered the same way in the same run. PostgreSQL runs as the managed cluster has it (fsync
and synchronous_commit on: production durability), in alternating rounds. To show where an
intake's time goes, ``case_report`` alone and the whole view are also timed in this process, one
request at a time. Then `manage.py import_cases` loads a generated 100 k-row archive (GBK CSV,
GCJ-02 points, the whole loop's timestamps).

Everything happens in a database created for the run (migrate, load_demo) and dropped at the
end: the case event log is append-only, so the bench's cases could not be deleted from the dev
database.

Targets (DESIGN §6): intake >= 0.3x the trivial view's throughput, p99 <= 50 ms; 100 k archive
rows <= 60 s.
"""

import http.client
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _common import ROOT, WebServer, percentile, report, timed

CONCURRENCY = 8
#: Seconds per side, measured in alternating rounds (trivial, intake, trivial, …) so that
#: whatever else the machine does weighs on both alike.
MEASURE_S = 16.0
ROUNDS = 4
ROUND_WARMUP_S = 0.5
ARCHIVE_ROWS = 100_000
INPROCESS_N = 300


def base_database_url() -> dict:
    """The connection settings of the database the project would use (DATABASE_URL or the
    managed one), read before Django is set up against the bench's own database."""
    module = importlib.import_module("gridmap.settings")
    db = dict(module.DATABASES["default"])
    # Django must import the settings again once DATABASE_URL names the bench's database.
    sys.modules.pop("gridmap.settings", None)
    return db


class BenchDatabase:
    """A database of its own for the run: created, then dropped with everything in it."""

    def __init__(self, db: dict):
        import psycopg

        self.db = db
        self.name = f"gridmap_bench_{uuid.uuid4().hex[:8]}"
        self.admin = psycopg.connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db["PASSWORD"],
            dbname="postgres",
            autocommit=True,
        )
        self.url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{self.name}"

    def __enter__(self) -> "BenchDatabase":
        import psycopg

        for attempt in range(20):
            try:
                self.admin.execute(f'CREATE DATABASE "{self.name}"')
                return self
            except psycopg.errors.ObjectInUse:
                # template1 is being copied by someone else's CREATE DATABASE right now.
                if attempt == 19:
                    raise
                time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        from django.apps import apps
        from django.db import connections

        try:
            if apps.ready:
                connections.close_all()
        finally:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.admin.close()


def load(port: int, request, *, seconds: float, warmup_s: float) -> dict:
    """``CONCURRENCY`` threads, each with its own keep-alive connection, send ``request(conn,
    n)`` back to back; latencies of the requests that start and end in the measured window."""
    start = time.perf_counter() + 0.2
    measure_from = start + warmup_s
    until = measure_from + seconds
    latencies: list[list[float]] = [[] for _ in range(CONCURRENCY)]
    failures: list[str] = []

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = latencies[k]
        n = k
        while time.perf_counter() < start:
            time.sleep(0.001)
        while True:
            t0 = time.perf_counter()
            if t0 >= until:
                break
            status, body = request(conn, n)
            t1 = time.perf_counter()
            n += CONCURRENCY
            if status >= 300:
                failures.append(f"HTTP {status}: {body[:300]!r}")
                continue
            if t0 >= measure_from and t1 <= until:
                mine.append((t1 - t0) * 1000)
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies_ms": [ms for mine in latencies for ms in mine], "failures": failures}


def alternate(port: int, sides: dict) -> dict:
    """Each side (name → request function) in ``ROUNDS`` alternating rounds, ``MEASURE_S`` in
    all per side: requests per second, p50 and p99 over all its rounds."""
    every = {name: [] for name in sides}
    for _ in range(ROUNDS):
        for name, request in sides.items():
            run = load(port, request, seconds=MEASURE_S / ROUNDS, warmup_s=ROUND_WARMUP_S)
            if run["failures"]:
                raise RuntimeError(
                    f"{len(run['failures'])} failed {name} request(s), e.g. {run['failures'][0]}"
                )
            every[name] += run["latencies_ms"]
    return {
        name: {
            "requests": len(ms),
            "per_s": len(ms) / MEASURE_S,
            "p50_ms": percentile(ms, 50),
            "p99_ms": percentile(ms, 99),
        }
        for name, ms in every.items()
    }


def inside_points(n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` random WGS-84 points inside the district (drawn in its box, kept when inside)."""
    import numpy as np

    from gridmap.selectors import district_extent_wgs84
    from gridmap.services.bulk_geocode import areas_load, lonlat_assign

    west, south, east, north = district_extent_wgs84()
    rng = np.random.default_rng(seed)
    areas = areas_load()
    lon = rng.uniform(west, east, n * 3)
    lat = rng.uniform(south, north, n * 3)
    inside = lonlat_assign(lon=lon, lat=lat, areas=areas).inside
    lon, lat = lon[inside][:n], lat[inside][:n]
    assert len(lon) == n, "too few random points fell inside the district"
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def bench_category() -> list[str]:
    """Event category codes to report under: the taxonomy's when it is loaded, else one made
    here (with a department and a time limit, like a real one)."""
    from cases.models import Category
    from gridmap.models import Department

    codes = list(
        Category.objects.filter(kind="event", active=True)
        .order_by("code")
        .values_list("code", flat=True)[:8]
    )
    if codes:
        return codes
    department = Department.objects.order_by("code").first()
    category = Category.objects.create(
        code="E0102",
        kind="event",
        major_code="01",
        major_name="市容环境",
        minor_code="02",
        minor_name="暴露垃圾",
        department=department,
    )
    category.time_limits.create(condition="any", value=4, unit="working_hours")
    return [category.code]


def intake_figures(codes: list[str]) -> dict:
    from rest_framework.authtoken.models import Token

    from gridmap.models import User

    operator, _ = User.objects.get_or_create(
        username="bench-operator", defaults={"role": User.Role.OPERATOR}
    )
    token = Token.objects.get_or_create(user=operator)[0].key
    points = inside_points(20_000, seed=11)
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    rng = random.Random(5)
    descriptions = ["路边有暴露垃圾", "垃圾桶满溢", "店外经营占道", "井盖破损", "共享单车堆积"]
    bodies = [
        json.dumps(
            {
                "category": rng.choice(codes),
                "source": "hotline",
                "lon": lon,
                "lat": lat,
                "description": rng.choice(descriptions),
                "petitioner_name": "张先生",
                "petitioner_phone": "13800000000",
            },
            ensure_ascii=False,
        ).encode()
        for lon, lat in points
    ]

    def intake(conn, n):
        conn.request("POST", "/api/v1/cases", body=bodies[n % len(bodies)], headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    def trivial(conn, n):
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        return response.status, response.read()

    with WebServer(workers=2) as server:
        # Warm both (workers' imports, the pool, the geocoder's prepared statements) untimed.
        load(server.port, trivial, seconds=2.0, warmup_s=1.0)
        load(server.port, intake, seconds=2.0, warmup_s=1.0)
        runs = alternate(server.port, {"trivial": trivial, "intake": intake})
    trivial_run, intake_run = runs["trivial"], runs["intake"]
    return {
        "concurrency": CONCURRENCY,
        "web_workers": 2,
        "intake_requests": intake_run["requests"],
        "intake_cases_per_s": round(intake_run["per_s"], 1),
        "intake_p50_ms": round(intake_run["p50_ms"], 2),
        "intake_p99_ms": round(intake_run["p99_ms"], 2),
        "trivial_requests": trivial_run["requests"],
        "trivial_req_per_s": round(trivial_run["per_s"], 1),
        "trivial_p50_ms": round(trivial_run["p50_ms"], 2),
        "trivial_p99_ms": round(trivial_run["p99_ms"], 2),
        "ratio_to_trivial": round(intake_run["per_s"] / trivial_run["per_s"], 3),
    }


def inprocess_figures(codes: list[str]) -> dict:
    """Where an intake's time goes, without HTTP: ``case_report`` alone, and the whole view
    (authentication, validation, ``case_report``, the 201 answer) through Django's test client,
    one request at a time in this process (persistent connection)."""
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from cases.services import case_report
    from gridmap.models import User

    operator = User.objects.get(username="bench-operator")
    token = Token.objects.get(user=operator).key
    points = inside_points(2 * INPROCESS_N + 100, seed=13)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")

    def service(lon, lat):
        case_report(source="hotline", category_code=codes[0], lon=lon, lat=lat, reporter=operator)

    def view(lon, lat):
        body = {"category": codes[0], "source": "hotline", "lon": lon, "lat": lat}
        response = client.post("/api/v1/cases", body, content_type="application/json")
        if response.status_code != 201:
            raise RuntimeError(f"HTTP {response.status_code}: {response.content[:300]!r}")

    timed(service, points[:50])  # warm both
    timed(view, points[50:100])
    service_ms = timed(service, points[100 : 100 + INPROCESS_N])
    view_ms = timed(view, points[100 + INPROCESS_N :])
    return {
        "intake_service_inprocess_p50_ms": round(percentile(service_ms, 50), 2),
        "intake_view_inprocess_p50_ms": round(percentile(view_ms, 50), 2),
    }


def write_archive(path: Path, codes: list[str], n: int) -> Path:
    """A 100 k-row archive as an old system exports it: GBK, Chinese headers, GCJ-02 points,
    the loop's timestamps (most cases closed, some rejected, void or still open); returns the
    mapping file written beside it."""
    import numpy as np
    import pandas as pd
    import yaml

    from gridmap.crs import wgs84_to_gcj02

    rng = np.random.default_rng(3)
    lon, lat = np.array(inside_points(n, seed=12)).T
    glon, glat = wgs84_to_gcj02(lon, lat)
    names = [f"旧系统类别{k + 1}" for k in range(len(codes))]
    minute = np.timedelta64(60, "s")
    start = np.datetime64("2023-01-01T00:00:00")
    reported = start + rng.integers(0, 600 * 24 * 60, n) * minute
    steps = [reported]
    for low, high in ((1, 10), (0, 3), (3, 20), (20, 600), (10, 120), (5, 60)):
        steps.append(steps[-1] + rng.integers(low, high, n) * minute)
    deadline = steps[2] + np.timedelta64(4, "h")
    fate = rng.random(n)
    outcome = np.select(
        [fate < 0.05, fate < 0.08, fate < 0.15], ["不予立案", "作废", "在办"], "已结案"
    )
    text = {}
    labels = ["上报时间", "立案时间", "派遣时间", "到场时间", "处置时间", "核查时间", "结案时间"]
    for label, values in zip(labels, steps, strict=True):
        text[label] = pd.Series(values).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    # Rejected: the filing time is the rejection's, nothing after it. Void: after dispatch, at
    # the closing time. Open: somewhere after filing.
    rejected, void, still = outcome == "不予立案", outcome == "作废", outcome == "在办"
    for label in labels[2:]:
        text[label][rejected] = ""
    for label in labels[3:6]:
        text[label][void] = ""
    reached = rng.integers(2, 6, n)
    for k, label in enumerate(labels):
        text[label][still & (k >= reached)] = ""
    on_time = np.where(steps[4] <= deadline, "是", "否")
    frame = pd.DataFrame(
        {
            "案卷编号": np.char.add("LS", np.arange(1, n + 1).astype(str)),
            "问题小类": np.array(names)[rng.integers(0, len(names), n)],
            "问题来源": np.array(["12345热线", "监督员上报", "视频发现"])[rng.integers(0, 3, n)],
            "经度": np.char.mod("%.7f", glon),
            "纬度": np.char.mod("%.7f", glat),
            "问题地址": "经开区第八大街",
            "问题描述": np.array(["暴露垃圾", "店外经营, 占道", '井盖"破损"'])[
                rng.integers(0, 3, n)
            ],
            **text,
            "处置截止时间": pd.Series(deadline).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "是否按期": on_time,
            "案件状态": outcome,
        }
    )
    frame.to_csv(path, index=False, encoding="gbk")
    mapping = {
        "file": {"encoding": "gbk"},
        "columns": {
            "id": "案卷编号",
            "category": "问题小类",
            "source": "问题来源",
            "lon": "经度",
            "lat": "纬度",
            "address": "问题地址",
            "description": "问题描述",
            "reported_at": "上报时间",
            "filed_at": "立案时间",
            "dispatched_at": "派遣时间",
            "arrived_at": "到场时间",
            "handled_at": "处置时间",
            "verified_at": "核查时间",
            "closed_at": "结案时间",
            "deadline": "处置截止时间",
            "on_time": "是否按期",
            "outcome": "案件状态",
        },
        "values": {
            "category": dict(zip(names, codes, strict=True)),
            "source": {"12345热线": "hotline", "监督员上报": "inspector", "视频发现": "camera"},
            "outcome": {"已结案": "closed", "不予立案": "rejected", "作废": "void", "在办": "open"},
        },
        "defaults": {"srs": "gcj02"},
    }
    mapping_path = path.with_suffix(".yaml")
    mapping_path.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    return mapping_path


def import_figures(codes: list[str], database_url: str) -> dict:
    """`manage.py import_cases` on a generated 100 k-row archive, as a subprocess (Django start-up
    included), in the bench's database."""
    from cases.models import Case, CaseEvent

    with tempfile.TemporaryDirectory(prefix="gridmap-bench-") as tmp:
        archive = Path(tmp) / "archive.csv"
        mapping = write_archive(archive, codes, ARCHIVE_ROWS)
        before = Case.objects.filter(historical=True).count()
        t0 = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "manage.py", "import_cases", str(archive), "--mapping", str(mapping)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(
            f"import_cases failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    imported = Case.objects.filter(historical=True).count() - before
    if imported != ARCHIVE_ROWS:
        raise RuntimeError(f"import_cases imported {imported} of {ARCHIVE_ROWS} rows")
    return {
        "import_cases_rows": ARCHIVE_ROWS,
        "import_cases_100k_s": round(seconds, 2),
        "import_cases_rows_per_s": round(ARCHIVE_ROWS / seconds),
        "import_cases_events": CaseEvent.objects.filter(case__historical=True).count(),
    }


def main() -> None:
    db = base_database_url()
    with BenchDatabase(db) as bench_db:
        os.environ["DATABASE_URL"] = bench_db.url
        from _common import setup_django

        setup_django()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW fsync")
            fsync = cursor.fetchone()[0]
            cursor.execute("SHOW synchronous_commit")
            synchronous_commit = cursor.fetchone()[0]
        codes = bench_category()
        figures = {
            "database": "dropped after the run",
            "fsync": fsync,
            "synchronous_commit": synchronous_commit,
            **intake_figures(codes),
            **inprocess_figures(codes),
            **import_figures(codes, bench_db.url),
        }
    report(
        "Case intake over HTTP at concurrency 8, 2 workers (targets: >= 0.3x the trivial view, "
        "p99 <= 50 ms); import_cases on 100 k rows (target <= 60 s)",
        [
            ("fsync / synchronous_commit", f"{fsync} / {synchronous_commit}"),
            ("trivial view (/healthz), req/s", figures["trivial_req_per_s"]),
            (
                "trivial view p50 / p99 ms",
                f"{figures['trivial_p50_ms']} / {figures['trivial_p99_ms']}",
            ),
            ("intake POST /api/v1/cases, cases/s", figures["intake_cases_per_s"]),
            ("intake p50 ms", figures["intake_p50_ms"]),
            ("intake p99 ms (target <= 50)", figures["intake_p99_ms"]),
            ("ratio intake / trivial (target >= 0.3)", figures["ratio_to_trivial"]),
            (
                "in-process, one at a time: case_report p50 ms",
                figures["intake_service_inprocess_p50_ms"],
            ),
            (
                "in-process: the whole view (auth, validation, answer) p50 ms",
                figures["intake_view_inprocess_p50_ms"],
            ),
            ("import_cases, 100 k rows, s (target <= 60)", figures["import_cases_100k_s"]),
            ("import_cases rows/s", figures["import_cases_rows_per_s"]),
            ("import_cases events written", figures["import_cases_events"]),
        ],
        figures,
    )


if __name__ == "__main__":
    main()
