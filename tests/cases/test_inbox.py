"""The notification inbox: list and mark read; and the live stream from another web process."""

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from cases.models import Notification
from cases.notify import notify
from gridmap.models import User
from tests.cases.conftest import free_port
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_inbox_lists_counts_and_marks_read(client):
    me = UserFactory(username="me", role=User.Role.DISPATCHER)
    other = UserFactory(username="other", role=User.Role.DISPATCHER)
    notify([me], kind="test", title="一")
    notify([me, other], kind="test", title="二")
    client.force_login(me)
    inbox = client.get(reverse("inbox")).json()
    assert inbox["unread"] == 2 and [n["title"] for n in inbox["notifications"]] == ["二", "一"]
    first = inbox["notifications"][1]["id"]
    assert client.post(reverse("inbox-read", args=[first])).json() == {"marked": 1}
    assert client.get(reverse("inbox"), {"unread": 1}).json()["unread"] == 1
    theirs = Notification.objects.get(user=other).pk
    assert client.post(reverse("inbox-read", args=[theirs])).status_code == 404
    assert client.post(reverse("inbox-read-all")).json() == {"marked": 1}
    assert Notification.objects.get(user=other).read_at is None


def _read_events(response, want: int, timeout: float = 15) -> list[dict]:
    events, buffer = [], b""
    deadline = time.monotonic() + timeout
    while len(events) < want and time.monotonic() < deadline:
        chunk = response.fp.read1(4096) if hasattr(response.fp, "read1") else response.read(1)
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            for line in block.decode().splitlines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
    return events


@pytest.mark.django_db(transaction=True)
def test_a_notification_reaches_an_open_page_through_another_web_process(client):
    me = UserFactory(username="me", role=User.Role.DISPATCHER)
    client.force_login(me)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    db = settings.DATABASES["default"]
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
        f"{connection.settings_dict['NAME']}",
        "REDIS_URL": settings.CELERY_BROKER_URL,
    }
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
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        early = notify([me], kind="test", title="断线前")[0]  # before the page connects
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                conn.request(
                    "GET",
                    "/api/v1/notifications/stream",
                    headers={"Cookie": f"sessionid={cookie}", "Last-Event-ID": str(early.pk - 1)},
                )
                response = conn.getresponse()
                break
            except OSError:
                time.sleep(0.1)
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("text/event-stream")
        caught_up = _read_events(response, 1)
        assert [e["title"] for e in caught_up] == ["断线前"], "missed while away: caught up"
        time.sleep(0.5)  # the stream is subscribed
        with transaction.atomic():
            notify([me], kind="test", title="实时推送")
        live = _read_events(response, 1)
        assert [e["title"] for e in live] == ["实时推送"]
        conn.close()
        anonymous = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        anonymous.request("GET", "/api/v1/notifications/stream")
        assert anonymous.getresponse().status == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
