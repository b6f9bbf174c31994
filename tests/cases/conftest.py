"""Real Celery for the closed loop's tests: a Redis of their own, a worker and beat processes.

The worker and beat run as separate processes against the test database (``transaction=True``
tests commit, so they see the data) and a dedicated Redis that a test may stop and start again
(to show that nothing is lost while the broker is down). Also an SMTP sink and an HTTP
receiver, so that e-mail and webhooks are really delivered.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A redis-server of the test's own, which the test can stop and start on the same port."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the test Redis did not start:\n{log}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def broker(tmp_path):
    redis = Broker(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def _env(broker_url: str, extra: dict | None = None) -> dict:
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
        f"{connection.settings_dict['NAME']}",
        "REDIS_URL": broker_url,
        "GRIDMAP_SWEEP_INTERVAL_S": "0.5",
        "PYTHONUNBUFFERED": "1",
        **(extra or {}),
    }


class CeleryProcesses:
    def __init__(self, broker: Broker, folder: Path, extra_env: dict | None = None) -> None:
        env = _env(broker.url, extra_env)
        self.log = folder / "celery.log"
        out = self.log.open("ab")
        self.worker = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "gridmap",
                "worker",
                "-P",
                "solo",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self.beat = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "gridmap",
                "beat",
                "-l",
                "INFO",
                "-S",
                "celery.beat:PersistentScheduler",
                "-s",
                str(folder / "beat-schedule"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        for process in (self.beat, self.worker):
            process.terminate()
        for process in (self.beat, self.worker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def celery_factory(broker, tmp_path):
    started = []

    def start(**extra_env) -> CeleryProcesses:
        procs = CeleryProcesses(broker, tmp_path, extra_env)
        started.append(procs)
        return procs

    yield start
    for procs in started:
        procs.stop()


def wait_for(condition, *, timeout: float = 30, interval: float = 0.25, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


class WebhookReceiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()
