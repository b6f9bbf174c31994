"""The community page: a community lead sees only their own community, by code too; overdue
cases are found by the case list's ``overdue`` filter."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Clock
from tests.cases.test_loop import new_case
from tests.cases.test_loop import world as world

pytestmark = pytest.mark.django_db


def test_a_community_lead_lands_on_their_community_and_nowhere_else(client, world):
    east, west = world["c2"], world["c1"]
    client.force_login(world["east_lead"])
    assert client.get(reverse("home"))["Location"] == f"/community/{east.code}/"
    page = client.get(f"/community/{east.code}/")
    assert page.status_code == 200
    assert east.name in page.content.decode()
    assert client.get(f"/community/{west.code}/").status_code == 404
    assert client.get("/community/999999999999/").status_code == 404


def test_centre_staff_open_any_community_and_field_teams_none(client, world):
    client.force_login(world["commander"])
    assert client.get(f"/community/{world['c1'].code}/").status_code == 200
    client.force_login(world["member"])
    assert client.get(f"/community/{world['c1'].code}/").status_code == 403


def test_overdue_filter_finds_cases_past_a_running_deadline(client, world):
    late = new_case(world, minutes_ago=30)  # its 5-minute filing clock ran out
    fresh = new_case(world)
    Clock.objects.filter(case=fresh).update(due_at=timezone.now() + timedelta(minutes=5))
    client.force_login(world["commander"])
    found = client.get(reverse("case-list"), {"overdue": "true"}).json()["features"]
    assert [f["id"] for f in found] == [late.pk]
    found = client.get(reverse("case-list"), {"overdue": "false"}).json()["features"]
    assert [f["id"] for f in found] == [fresh.pk]
