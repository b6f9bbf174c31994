"""The web server as `make run` starts it: gunicorn with uvicorn workers, a connection pool.

A smoke test of the deployment configuration rather than of a view: a missing package (the
psycopg pool, uvicorn's worker) or an ASGI-only problem shows up here, not in the test client.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import lonlat, small_district

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_gunicorn_with_uvicorn_workers_serves_the_api_from_a_pool():
    small_district()
    db = settings.DATABASES["default"]
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
        f"{connection.settings_dict['NAME']}",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
    }
    env.pop("GRIDMAP_DB_POOL", None)  # asgi.py must switch the pool on by itself
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "gridmap.asgi:application",
            "-k",
            "uvicorn_worker.UvicornWorker",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urlopen(f"{base}/healthz", timeout=1) as response:  # noqa: S310
                    assert response.status == 200
                    break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"the server stopped: {server.communicate()[0].decode()}")
                time.sleep(0.1)
        else:
            pytest.fail("the server did not come up")
        lon, lat = lonlat(300, 250)
        for _ in range(5):  # several requests: each runs in a new thread, served by the pool
            with urlopen(f"{base}/api/v1/geocode?lon={lon}&lat={lat}", timeout=5) as response:  # noqa: S310
                assert b"410199001002001" in response.read()
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    assert "Traceback" not in output, output
