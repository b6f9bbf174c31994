"""The console live: how fast a new case reaches an open console, and how fast a console with
10,000 open cases loads.

In a database of its own (created for the run, dropped after it) with the demo district, the
platform is served by 2 web processes (gunicorn + uvicorn, as `make run` starts it).

- ``live_update_p99_s``: a client subscribed to ``/api/v1/console/stream`` (the console's
  event stream) through one connection; cases are reported through ``POST /api/v1/cases`` on
  other connections, so the report is handled by either process and reaches the stream through
  Redis. The time from sending the report to receiving its event. Target <= 1 s.
- ``console_load_10k_s``: with 10,000 open cases, what the console page loads before it can be
  used: the page, the cases of the whole district in view and the queue (as the page asks,
  in parallel). Target <= 2 s. Beside it, ``raw_select_10k_s``: a plain SELECT of the same
  10,000 points, the floor any console has to stand on. ``console_pan_s``: what a pan or zoom
  asks for, the cases of a quarter of the district as points (target <= 0.5 s with the
  drawing).

Last line: JSON with both figures.
"""

import contextlib
import http.client
import json
import os
import random
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from _common import WebServer, percentile, report
from intake import BenchDatabase, base_database_url

LIVE_CASES = 100
OPEN_CASES = 10_000
LOADS = 5


def session_cookie(user) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def points(n: int, seed: int) -> list[tuple[float, float]]:
    """WGS-84 points inside the demo's communities."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform((ST_Dump(ST_GeneratePoints("
            "ST_Union(geom), %s, %s))).geom, 4326) p FROM gridmap_community) q",
            [n, seed],
        )
        return cursor.fetchall()


class Listener(threading.Thread):
    """Reads the console stream and notes when each case's report event arrives."""

    def __init__(self, port: int, cookie: str):
        super().__init__(daemon=True)
        self.port, self.cookie = port, cookie
        self.arrived: dict[int, float] = {}
        self.ready = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", "/api/v1/console/stream", headers={"Cookie": self.cookie})
        response = conn.getresponse()
        buffer = b""
        while True:
            chunk = response.fp.read1(65536)
            if not chunk:
                return
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                if b"connected" in block:
                    self.ready.set()
                for line in block.decode().splitlines():
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        if event.get("event") == "report":
                            self.arrived[event["id"]] = time.perf_counter()


def live_figures(server: WebServer, cookie: str, token: str, category: str) -> dict:
    listener = Listener(server.port, cookie)
    listener.start()
    if not listener.ready.wait(30):
        raise RuntimeError("the console stream did not connect")
    sent: dict[int, float] = {}
    spots = points(LIVE_CASES, 7)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for i, (lon, lat) in enumerate(spots):
        body = json.dumps({"source": "hotline", "category": category, "lon": lon, "lat": lat})
        started = time.perf_counter()
        conn.request(
            "POST",
            "/api/v1/cases",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        answer = conn.getresponse()
        data = json.loads(answer.read())
        if answer.status != 201:
            raise RuntimeError(f"report {i} refused: {answer.status} {data}")
        sent[data["id"]] = started
        time.sleep(random.uniform(0.02, 0.1))
    deadline = time.time() + 10
    while len(listener.arrived) < len(sent) and time.time() < deadline:
        time.sleep(0.05)
    lost = [i for i in sent if i not in listener.arrived]
    if lost:
        raise RuntimeError(f"{len(lost)} report(s) never reached the console stream")
    delays = [listener.arrived[i] - sent[i] for i in sent]
    return {
        "live_update_p50_s": round(percentile(delays, 50), 4),
        "live_update_p99_s": round(percentile(delays, 99), 4),
    }


def open_cases(n: int, category: str, reporter) -> None:
    """``n`` open cases through the intake service (their clocks and events as live ones)."""
    from cases.services import case_report

    for lon, lat in points(n, 11):
        case_report(source="hotline", category_code=category, lon=lon, lat=lat, reporter=reporter)


def load_figures(server: WebServer, cookie: str) -> dict:
    from django.db import connection

    from gridmap.selectors import district_extent_wgs84

    west, south, east, north = district_extent_wgs84()
    bbox = f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}"
    paths = ["/console/", f"/api/v1/console/cases?bbox={bbox}", "/api/v1/console/queue"]

    def fetch(path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        size = len(response.read())
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status}")
        return size

    timings, sizes = [], []
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(fetch, paths))  # warm both processes' caches once
        for _ in range(LOADS):
            started = time.perf_counter()
            sizes = list(pool.map(fetch, paths))
            timings.append(time.perf_counter() - started)
    # A pan or zoom: the cases of a quarter of the district come as points (fewer than the
    # aggregation threshold), what the page asks for after every move.
    quarter = f"{west:.6f},{south:.6f},{(west + east) / 2:.6f},{(south + north) / 2:.6f}"
    moves, shown = [], 0
    for _ in range(LOADS):
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("GET", f"/api/v1/console/cases?bbox={quarter}", headers={"Cookie": cookie})
        shown = len(json.loads(conn.getresponse().read())["cases"])
        moves.append(time.perf_counter() - started)
    raw = []
    for _ in range(LOADS):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
                "FROM cases_case WHERE stage NOT IN ('closed', 'rejected', 'void', 'merged')"
            )
            rows = cursor.fetchall()
        raw.append(time.perf_counter() - started)
    return {
        "open_cases": len(rows),
        "console_load_10k_s": round(percentile(timings, 50), 3),
        "console_load_10k_max_s": round(max(timings), 3),
        "console_cases_kb": round(sizes[1] / 1024, 1),
        "raw_select_10k_s": round(percentile(raw, 50), 4),
        "console_pan_s": round(percentile(moves, 50), 3),
        "console_pan_points": shown,
    }


def main() -> None:
    db = base_database_url()
    with BenchDatabase(db) as bench_db:
        os.environ["DATABASE_URL"] = bench_db.url
        from _common import setup_django

        setup_django()
        from rest_framework.authtoken.models import Token

        from cases.models import Category
        from gridmap.models import User

        operator = User.objects.get(username="operator")
        commander = User.objects.get(username="commander")
        token = Token.objects.get_or_create(user=operator)[0].key
        cookie = session_cookie(commander)
        category = Category.objects.filter(active=True).order_by("code").first().code
        server = WebServer(workers=2, env={"DATABASE_URL": bench_db.url}).__enter__()
        try:
            figures = live_figures(server, cookie, token, category)
            open_cases(OPEN_CASES - LIVE_CASES, category, operator)
            figures.update(load_figures(server, cookie))
        finally:
            # The open event stream keeps a worker from a graceful stop: no waiting for it.
            workers = subprocess.run(
                ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True
            ).stdout.split()
            server.process.kill()
            server.process.wait()
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
    report(
        "The console live, 2 web processes (targets: live update p99 <= 1 s, "
        "console load with 10,000 open cases <= 2 s)",
        [
            ("new case → console event, p50 s", figures["live_update_p50_s"]),
            ("new case → console event, p99 s (target <= 1)", figures["live_update_p99_s"]),
            ("open cases", figures["open_cases"]),
            (
                "console load (page, cases, queue), median s (target <= 2)",
                figures["console_load_10k_s"],
            ),
            ("console load, slowest s", figures["console_load_10k_max_s"]),
            ("cases answer, kB", figures["console_cases_kb"]),
            ("raw SELECT of the same points, s", figures["raw_select_10k_s"]),
            ("pan / zoom: cases of a quarter, s (target <= 0.5)", figures["console_pan_s"]),
            ("pan / zoom: points drawn", figures["console_pan_points"]),
        ],
        figures,
    )


if __name__ == "__main__":
    main()
