"""Shared set-up for the benchmarks: Django against the project-managed services, the demo
district loaded, percentiles, a readable table and the last-line JSON (DESIGN §6).

Benchmarks run at production durability (fsync and synchronous_commit as the cluster has them).
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")


def setup_django(*, load_demo: bool = True) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if load_demo:
        call_command("load_demo", verbosity=0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn, args_list) -> list[float]:
    """Milliseconds per call of ``fn(*args)`` for each args in ``args_list``."""
    out = []
    for args in args_list:
        t0 = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    """gunicorn with uvicorn workers (as `make run` starts it) on a free port, for HTTP figures."""

    def __init__(self, *, workers: int = 2, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "WebServer":
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "gridmap.asgi:application",
                "-k",
                "uvicorn_worker.UvicornWorker",
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urlopen(f"{self.url}/healthz", timeout=1) as r:  # noqa: S310 (our http URL)
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("the benchmark web server did not start")

    def __exit__(self, *exc) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)


def report(title: str, rows: list[tuple[str, object]], figures: dict) -> None:
    """Print a readable table, then the figures as one JSON object on the last line."""
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}\n" + "-" * (width + 16))
    for name, value in rows:
        shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
        print(f"{name.ljust(width)}  {shown}")
    print(json.dumps(figures))


def median(values: list[float]) -> float:
    return statistics.median(values)
