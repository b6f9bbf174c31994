"""The console's API: open cases for the map with the instants their clocks turn yellow and
red, cells instead of points when a view holds many, the queue by deadline, roles."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import console
from cases.models import Clock
from tests.cases.test_loop import new_case, step
from tests.cases.test_loop import world as world
from tests.factories import lonlat

pytestmark = pytest.mark.django_db


def bbox(x0=-50, y0=-50, x1=450, y1=350) -> str:
    (w, s), (e, n) = lonlat(x0, y0), lonlat(x1, y1)
    return f"{w:.6f},{s:.6f},{e:.6f},{n:.6f}"


def test_open_cases_come_with_their_most_urgent_clock(client, world):
    case = new_case(world, minutes_ago=2)  # the 5-minute filing clock: yellow at 4, red at 5
    closed_stage = new_case(world, x=60)
    assert step(client, world["operator"], closed_stage, "reject", reason="重复").status_code == 200
    client.force_login(world["dispatcher"])
    answer = client.get(reverse("console-cases"), {"bbox": bbox()}).json()
    assert answer["total"] == 1 and answer["clusters"] == []
    row = answer["cases"][0]
    assert row[0] == case.pk and row[3] == "reported" and row[4] == case.number
    kind, yellow_ms, red_ms = row[7], row[8], row[9]
    assert kind == "filing"
    assert red_ms - yellow_ms == pytest.approx(60_000, abs=5)
    due = Clock.objects.get(case=case).due_at
    assert red_ms == int(due.timestamp() * 1000)
    # Out of view: nothing.
    assert (
        client.get(reverse("console-cases"), {"bbox": bbox(1000, 1000, 1100, 1100)}).json()["cases"]
        == []
    )


def test_a_crowded_view_comes_as_cells_with_their_worst_colour(client, world, monkeypatch):
    monkeypatch.setattr(console, "CLUSTER_ABOVE", 3)
    for i in range(4):
        new_case(world, x=40 + i, y=40, minutes_ago=10 if i == 0 else 0)
    client.force_login(world["commander"])
    answer = client.get(reverse("console-cases"), {"bbox": bbox()}).json()
    assert answer["total"] == 4 and answer["cases"] == []
    assert [c[2:] for c in answer["clusters"]] == [[4, "red"]]


def test_the_queue_puts_the_nearest_deadline_first(client, world):
    later = new_case(world)
    sooner = new_case(world, x=70, minutes_ago=3)
    paused = new_case(world, x=90)
    Clock.objects.filter(case=paused).update(paused_at=timezone.now() - timedelta(minutes=1))
    client.force_login(world["operator"])
    queue = client.get(reverse("console-queue")).json()["queue"]
    # A paused clock does not run: that case comes after those whose clocks do.
    assert [q["id"] for q in queue] == [sooner.pk, later.pk, paused.pk]
    assert queue[0]["clock"] == "filing" and queue[0]["due_at"] < queue[1]["due_at"]


def test_only_the_centre_uses_the_console(client, world):
    for who, status in (("member", 403), ("east_lead", 403), ("shift", 200)):
        client.force_login(world[who])
        assert client.get(reverse("console-queue")).status_code == status
        assert client.get("/console/").status_code == status
    client.force_login(world["commander"])
    response = client.get(reverse("console-cases"), {"bbox": "1,2,3"})
    assert response.status_code == 400 and "bbox" in response.json()
