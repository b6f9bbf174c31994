"""Browser tests: Playwright driving Debian's chromium (no browser download), headless.

Screenshots go to ``test-artifacts/`` (git-ignored) so that a run can be looked at afterwards.
The fixtures (``browser``, ``page``, ``screenshot``, ``asgi_server``) live in tests/conftest.py so
that every test directory shares the one Playwright session a test run may have; the helpers
are here.
"""

import os
import shutil
from pathlib import Path

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def login(page, live_server, username: str, password: str = "pw", next_path: str = "") -> None:  # noqa: S107
    """Sign in through the login form; land on the role's page, or on ``next_path``."""
    page.goto(f"{live_server.url}/accounts/login/" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


class AsgiServer:
    """The platform as production serves it: gunicorn with uvicorn workers (``workers``
    processes), on the test database and the test Redis, so that live streams (SSE) work and an
    event published by one process reaches a page connected to another."""

    def __init__(self, workers: int = 2) -> None:
        import subprocess
        import sys

        from django.conf import settings
        from django.db import connection

        from tests.cases.conftest import free_port

        db = settings.DATABASES["default"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root = Path(__file__).resolve().parents[2]
        env = {
            **os.environ,
            "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
            f"{connection.settings_dict['NAME']}",
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "GRIDMAP_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "GRIDMAP_STATIC_FROM_APPS": "1",
        }
        self.log = Path(settings.MEDIA_ROOT).parent / f"asgi-{self.port}.log"
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "gridmap.asgi:application",
                "-k",
                "uvicorn_worker.UvicornWorker",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "2",
            ],
            cwd=root,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the ASGI server died:\n{self.log.read_text()[-3000:]}")
            try:
                health = f"{self.url}/healthz"  # http, built here
                with urllib.request.urlopen(health, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the ASGI server did not answer:\n{self.log.read_text()[-3000:]}")

    def sign_in(self, context, user) -> None:
        """Give the browser context a session of ``user`` (made in the test process)."""
        from django.conf import settings
        from django.test import Client

        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": self.url}]
        )

    def stop(self) -> None:
        import subprocess

        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a worker stuck in a stream
            self.process.kill()
