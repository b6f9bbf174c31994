"""GPS fix intake over HTTP (POST /api/v1/positions) beside a raw INSERT of the same rows.

Batches of 100 fixes are POSTed at concurrency 8 against 2 web workers (gunicorn + uvicorn, as
`make run` starts them), each batch by one unit with its own device token: team phones (walking
around their spot, 1 fix/s) and muck trucks (渣土车, 1 fix every 3 s along an approved route
corridor; one truck in ten leaves it every other batch, so geofence events open and close, and
every truck fix is checked against the fences: a route and a restricted zone). Every fix goes
through the whole intake: token, per-fix checks (time, coordinates, district, speed, accuracy),
the insert into the monthly-partitioned track table, the devices' and teams' latest positions,
and the vehicle geofences.

The raw baseline, in the same run and alternating rounds with the same concurrency: the same
rows, 100 per transaction, in one ``INSERT … SELECT FROM unnest`` (the storage-CRS transform
included) into the same table over psycopg, no checks. PostgreSQL runs as the managed cluster
has it (fsync and synchronous_commit on: production durability), in a database created for the
run and dropped at the end.

Target (issue 6): fixes_per_s >= 10,000.
"""

import http.client
import itertools
import json
import math
import os
import threading
import time
from datetime import UTC, datetime, timedelta

from _common import report
from intake import BenchDatabase, base_database_url

CONCURRENCY = 8
BATCH = 100
PHONES = 120
TRUCKS = 80
#: Seconds per side, in alternating rounds (raw, http, raw, http, …).
MEASURE_S = 16.0
ROUNDS = 4
WARMUP_S = 3.0
#: Batches prepared per unit for the HTTP rounds (enough for the warm-up and all rounds at
#: ~500 batches/s); the raw rounds cycle through the first ``RAW_BATCHES_PER_UNIT`` of them.
BATCHES_PER_UNIT = 60
RAW_BATCHES_PER_UNIT = 10
#: Time shift (s) of the raw baseline's rows each time it runs through the prepared batches:
#: longer than any unit's period in them (10 batches x 100 fixes x 3 s).
RAW_CYCLE_S = 9000.0


class Units:
    """The bench's devices: phones spread over the demo teams, trucks with a route."""

    def __init__(self) -> None:
        from django.contrib.gis.geos import LineString, MultiPolygon, Polygon

        from gridmap.models import STORAGE_SRID, Geofence, Team, Vehicle
        from gridmap.selectors import district_extent_wgs84
        from tracking.services.devices import device_register, device_token_issue

        west, south, east, north = district_extent_wgs84()
        self.box = (west, south, east, north)
        mid = (south + north) / 2
        self.route_line = ((west + 0.1 * (east - west), mid), (east - 0.1 * (east - west), mid))
        line = LineString(self.route_line, srid=4326)
        line.transform(STORAGE_SRID)
        Geofence.objects.create(
            code="BENCH-ROUTE",
            kind="route",
            vehicle_kind="muck_truck",
            geom=MultiPolygon(line.buffer(25)),
        )
        zone = Polygon.from_bbox(
            (
                west + 0.50 * (east - west),
                south + 0.10 * (north - south),
                west + 0.55 * (east - west),
                south + 0.15 * (north - south),
            )
        )
        zone.srid = 4326
        zone.transform(STORAGE_SRID)
        Geofence.objects.create(code="BENCH-ZONE", kind="restricted", geom=MultiPolygon(zone))
        teams = list(Team.objects.order_by("code"))
        self.units = []  # (unit id, token, kind, index)
        for k in range(PHONES):
            device = device_register(unit_id=f"BENCH-P{k:03d}", team=teams[k % len(teams)])
            self.units.append((device.unit_id, device_token_issue(device=device), "phone", k))
        for k in range(TRUCKS):
            vehicle = Vehicle.objects.create(code=f"BENCH-V{k:03d}", kind="muck_truck")
            device = device_register(
                unit_id=f"BENCH-T{k:03d}", kind="vehicle_unit", vehicle=vehicle
            )
            self.units.append((device.unit_id, device_token_issue(device=device), "truck", k))

    def fixes(self, unit: tuple, batch: int, t0: datetime) -> list[dict]:
        """Batch number ``batch`` of a unit: 100 fixes in time order from ``t0``."""
        unit_id, _token, kind, k = unit
        west, south, east, north = self.box
        out = []
        if kind == "phone":
            cx = west + (0.15 + 0.7 * ((k * 37) % 100) / 100) * (east - west)
            cy = south + (0.15 + 0.7 * ((k * 61) % 100) / 100) * (north - south)
            for j in range(BATCH):
                s = batch * BATCH + j
                angle = s / 120.0  # a 150 m circle walked in ~12 minutes
                out.append(
                    {
                        "unit": unit_id,
                        "time": (t0 + timedelta(seconds=s)).isoformat(),
                        "lon": cx + 0.0016 * math.cos(angle),
                        "lat": cy + 0.0013 * math.sin(angle),
                        "speed_kmh": 4.5,
                        "accuracy_m": 8.0,
                    }
                )
            return out
        (x0, y0), (x1, _y1) = self.route_line
        leaves = k % 10 == 0 and batch % 2 == 1  # one truck in ten leaves the route
        for j in range(BATCH):
            off = leaves and 10 < j < 90
            s = (batch * BATCH + j) * 3
            along = ((k * 997 + s * 8) % 20000) / 20000  # 8 m/s, back and forth
            along = 2 * along if along < 0.5 else 2 * (1 - along)
            out.append(
                {
                    "unit": unit_id,
                    "time": (t0 + timedelta(seconds=s)).isoformat(),
                    "lon": x0 + along * (x1 - x0),
                    # Off the route by up to 220 m, 60 s to leave and 60 s to come back.
                    "lat": y0
                    + (
                        0.002 * min(1.0, (j - 10) / 20, (90 - j) / 20)
                        if off and 10 < j < 90
                        else 0.0
                    ),
                    "speed_kmh": 29.0,
                    "heading": 90.0,
                }
            )
        return out


def prepare(units: Units, t0: datetime) -> list[tuple[str, bytes]]:
    """Request bodies, unit-interleaved: body n is batch n // units of unit n % units, so two
    batches of one unit are never in flight together."""
    bodies = []
    for batch in range(BATCHES_PER_UNIT):
        for unit in units.units:
            body = json.dumps({"fixes": units.fixes(unit, batch, t0)}).encode()
            bodies.append((unit[1], body))
    return bodies


def http_round(port: int, bodies, counter, seconds: float) -> dict:
    """``CONCURRENCY`` keep-alive connections POST the next body until the time is up."""
    lock = threading.Lock()
    done = {"requests": 0, "fixes": 0, "flagged": 0, "events": 0, "failures": []}
    latencies: list[float] = []
    until = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.perf_counter() < until:
            with lock:
                n = next(counter)
            token, body = bodies[n]
            headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/positions", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if response.status != 200:
                done["failures"].append(f"HTTP {response.status}: {answer[:300]!r}")
                continue
            result = json.loads(answer)
            with lock:
                done["requests"] += 1
                done["fixes"] += result["accepted"] + result["flagged"]
                done["flagged"] += result["flagged"]
                done["events"] += result["fence_events"]
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done["seconds"] = time.perf_counter() - started
    done["latencies"] = latencies
    if done["failures"]:
        raise RuntimeError(f"{len(done['failures'])} failed batches, e.g. {done['failures'][0]}")
    return done


_RAW_SQL = """
INSERT INTO gridmap_position (device_id, at, team_id, geom, speed_kmh, heading, accuracy_m,
                              flag, received_at)
SELECT device_id, at + make_interval(secs => %(shift)s), team_id,
       ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), %(srid)s), speed_kmh, heading,
       accuracy_m, '', now()
FROM unnest(%(device)s::bigint[], %(at)s::timestamptz[], %(team)s::bigint[],
            %(lon)s::float8[], %(lat)s::float8[], %(speed)s::float8[], %(heading)s::float8[],
            %(accuracy)s::float8[])
     AS t(device_id, at, team_id, lon, lat, speed_kmh, heading, accuracy_m)
ON CONFLICT (device_id, at) DO NOTHING
"""


def raw_batches(units: Units, t0: datetime) -> list[dict]:
    """The same rows as the HTTP bodies (another period, so they do not collide), as arrays."""
    from gridmap.models import Device

    ids = dict(Device.objects.values_list("unit_id", "id"))
    teams = dict(Device.objects.values_list("unit_id", "team_id"))
    out = []
    for batch in range(RAW_BATCHES_PER_UNIT):
        for unit in units.units:
            fixes = units.fixes(unit, batch, t0)
            out.append(
                {
                    "device": [ids[f["unit"]] for f in fixes],
                    "at": [datetime.fromisoformat(f["time"]) for f in fixes],
                    "team": [teams[f["unit"]] for f in fixes],
                    "lon": [f["lon"] for f in fixes],
                    "lat": [f["lat"] for f in fixes],
                    "speed": [f.get("speed_kmh") for f in fixes],
                    "heading": [f.get("heading") for f in fixes],
                    "accuracy": [f.get("accuracy_m") for f in fixes],
                }
            )
    return out


def raw_round(conninfo: dict, batches, counter, seconds: float, srid: int) -> dict:
    import psycopg

    lock = threading.Lock()
    done = {"fixes": 0, "latencies": []}
    until = time.perf_counter() + seconds

    def worker() -> None:
        mine = []
        with psycopg.connect(**conninfo) as conn:
            while time.perf_counter() < until:
                with lock:
                    n = next(counter)
                # Past the prepared batches, the same ones again later (as new rows).
                cycle, n = divmod(n, len(batches))
                params = {**batches[n], "srid": srid, "shift": cycle * RAW_CYCLE_S}
                t0 = time.perf_counter()
                with conn.transaction():
                    conn.execute(_RAW_SQL, params, prepare=True)
                mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            done["fixes"] += BATCH * len(mine)
            done["latencies"].extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done["seconds"] = time.perf_counter() - started
    return done


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of the processes so far."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _backends(conninfo: dict) -> list[int]:
    """Process ids of the web workers' PostgreSQL backends (connections to the bench's
    database other than this one's)."""
    import psycopg

    with psycopg.connect(**conninfo) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [conninfo["dbname"]],
        ).fetchall()
    return [pid for (pid,) in rows]


def _machine_idle() -> tuple[int, int]:
    """(idle, total) CPU ticks of the whole machine so far."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return values[3] + values[4], sum(values)


def figures(bench_url: str) -> dict:
    from _common import WebServer, percentile
    from django.conf import settings
    from django.db import connection

    from gridmap.models import Position
    from tracking.services.partitions import ensure_position_partitions

    load_at_start = os.getloadavg()[0]
    now = datetime.now(UTC).replace(microsecond=0)
    http_t0 = now - timedelta(days=3)
    raw_t0 = now - timedelta(days=10)
    ensure_position_partitions(start=(raw_t0 - timedelta(days=1)).date(), months=2)
    units = Units()
    bodies = prepare(units, http_t0)
    raws = raw_batches(units, raw_t0)
    db = settings.DATABASES["default"]
    conninfo = {
        "host": db["HOST"],
        "port": db["PORT"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "dbname": db["NAME"],
    }
    with connection.cursor() as cursor:
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous_commit = cursor.fetchone()[0]
    connection.close()
    http_counter, raw_counter = itertools.count(), itertools.count()
    http_runs, raw_runs = [], []
    with WebServer(workers=2, env={"DATABASE_URL": bench_url}) as server:
        http_round(server.port, bodies, http_counter, WARMUP_S)  # imports, caches, statements
        raw_round(conninfo, raws, raw_counter, 1.0, settings.GRIDMAP_SRID)
        workers = _children(server.process.pid)
        backends = _backends(conninfo)
        web_cpu = db_cpu = 0.0
        idle = total = 0
        for _ in range(ROUNDS):
            raw_runs.append(
                raw_round(conninfo, raws, raw_counter, MEASURE_S / ROUNDS, settings.GRIDMAP_SRID)
            )
            cpu0, (idle0, total0) = _cpu_s(workers), _machine_idle()
            pg0 = _cpu_s(backends)
            http_runs.append(http_round(server.port, bodies, http_counter, MEASURE_S / ROUNDS))
            cpu1, (idle1, total1) = _cpu_s(workers), _machine_idle()
            web_cpu += cpu1 - cpu0
            db_cpu += _cpu_s(backends) - pg0
            idle, total = idle + idle1 - idle0, total + total1 - total0
    if next(http_counter) >= len(bodies):
        raise RuntimeError("ran out of prepared batches: raise BATCHES_PER_UNIT")
    from gridmap.models import GeofenceEvent

    http_fixes = sum(r["fixes"] for r in http_runs)
    http_s = sum(r["seconds"] for r in http_runs)
    raw_fixes = sum(r["fixes"] for r in raw_runs)
    raw_s = sum(r["seconds"] for r in raw_runs)
    latencies = [ms for r in http_runs for ms in r["latencies"]]
    raw_latencies = [ms for r in raw_runs for ms in r["latencies"]]
    stored = Position.objects.filter(at__gte=http_t0 - timedelta(seconds=1)).count()
    return {
        "database": "dropped after the run",
        # The machine is shared: the load before the run says how much else was running.
        "load_avg_1m_at_start": round(load_at_start, 2),
        "fsync": fsync,
        "synchronous_commit": synchronous_commit,
        "concurrency": CONCURRENCY,
        "web_workers": 2,
        "batch_fixes": BATCH,
        "units_phones": PHONES,
        "units_trucks": TRUCKS,
        "http_batches": sum(r["requests"] for r in http_runs),
        "fixes_per_s": round(http_fixes / http_s),
        "batch_p50_ms": round(percentile(latencies, 50), 2),
        "batch_p99_ms": round(percentile(latencies, 99), 2),
        # Where the time goes: the web workers' CPU per batch, and how idle the machine was.
        "web_cpu_ms_per_batch": round(
            1000 * web_cpu / max(1, sum(r["requests"] for r in http_runs)), 2
        ),
        "db_cpu_ms_per_batch": round(
            1000 * db_cpu / max(1, sum(r["requests"] for r in http_runs)), 2
        ),
        "machine_idle_pct_during_http": round(100 * idle / max(1, total), 1),
        "flagged_fixes": sum(r["flagged"] for r in http_runs),
        "fence_events_opened": GeofenceEvent.objects.count(),
        "fixes_stored_http": stored,
        "raw_insert_fixes_per_s": round(raw_fixes / raw_s),
        "raw_insert_batch_p50_ms": round(percentile(raw_latencies, 50), 2),
        "ratio_http_to_raw": round((http_fixes / http_s) / (raw_fixes / raw_s), 3),
    }


def main() -> None:
    db = base_database_url()
    with BenchDatabase(db) as bench_db:
        os.environ["DATABASE_URL"] = bench_db.url
        from _common import setup_django

        setup_django()
        result = figures(bench_db.url)
    report(
        "GPS fixes over HTTP, batches of 100 at concurrency 8, 2 workers (target >= 10,000 "
        "fixes/s), beside a raw INSERT of the same rows",
        [
            ("fsync / synchronous_commit", f"{result['fsync']} / {result['synchronous_commit']}"),
            ("load average (1 min) at the start", result["load_avg_1m_at_start"]),
            ("units: phones / muck trucks", f"{PHONES} / {TRUCKS}"),
            ("HTTP batches of 100", result["http_batches"]),
            ("POST /api/v1/positions, fixes/s (target >= 10,000)", result["fixes_per_s"]),
            ("batch p50 / p99 ms", f"{result['batch_p50_ms']} / {result['batch_p99_ms']}"),
            ("web workers' CPU per batch, ms", result["web_cpu_ms_per_batch"]),
            ("PostgreSQL backends' CPU per batch, ms", result["db_cpu_ms_per_batch"]),
            ("machine idle during the HTTP rounds, %", result["machine_idle_pct_during_http"]),
            ("flagged fixes", result["flagged_fixes"]),
            ("geofence events opened", result["fence_events_opened"]),
            ("fixes stored by the HTTP rounds", result["fixes_stored_http"]),
            ("raw INSERT of the same rows, fixes/s", result["raw_insert_fixes_per_s"]),
            ("raw batch p50 ms", result["raw_insert_batch_p50_ms"]),
            ("ratio HTTP / raw", result["ratio_http_to_raw"]),
        ],
        result,
    )


if __name__ == "__main__":
    main()
