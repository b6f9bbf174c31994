"""Today's figures for the big screen, against a hand-made day."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Clock
from cases.today import day_start
from tests.cases.test_loop import new_case, step
from tests.cases.test_loop import world as world

pytestmark = pytest.mark.django_db


def test_todays_figures(client, world):
    if timezone.now() - day_start() < timedelta(minutes=40):
        pytest.skip("too close to local midnight for cases made 30 minutes ago")
    new_case(world, minutes_ago=30)  # its 5-minute filing clock ran out: overdue
    on_time = new_case(world, x=250, y=100)
    assert step(client, world["operator"], on_time, "file").status_code == 200  # filed in time
    rejected = new_case(world, x=60, y=200, minutes_ago=20)
    assert step(client, world["operator"], rejected, "reject", reason="不属实").status_code == 200
    yesterday = new_case(world, x=70)
    yesterday_start = day_start() - timedelta(hours=3)
    type(yesterday).objects.filter(pk=yesterday.pk).update(reported_at=yesterday_start)
    client.force_login(world["commander"])
    f = client.get(reverse("console-today")).json()
    assert f["new"] == 3  # not yesterday's
    assert f["open"] == 3  # late, on_time (registered) and yesterday's; not the rejected one
    assert f["overdue"] == 1 + int(
        Clock.objects.filter(case=yesterday, outcome="open", due_at__lt=timezone.now()).exists()
    )
    assert f["closed"] == 0
    # Filing: on_time met it, the rejected one (filed 20 min after the report) was late.
    assert f["on_time"]["filing"] == 0.5
    assert f["on_time"]["arrival"] is None  # nothing arrived today: no rate, not 0 %
    assert f["problems"] == [{"name": "暴露垃圾", "count": 3}]
    assert {a["name"] for a in f["areas"]} == {"西社区", "东社区"}
    assert sum(f["hours"]) == 3 and f["sources"] == {"hotline": 3}


def test_the_big_screen_is_for_the_centre(client, world):
    client.force_login(world["member"])
    assert client.get(reverse("console-today")).status_code == 403
    assert client.get("/console/screen/").status_code == 403
    client.force_login(world["shift"])
    assert client.get("/console/screen/").status_code == 200
