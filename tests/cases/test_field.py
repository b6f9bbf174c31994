"""The field page's API: my tasks nearest first, patrol reports by field teams, self-disposal."""

import pytest
from django.urls import reverse

from cases.models import Case, Evidence
from tests.cases.test_loop import media, new_case, step
from tests.cases.test_loop import world as world
from tests.factories import lonlat

pytestmark = pytest.mark.django_db


def dispatched(client, world, **where) -> Case:
    case = new_case(world, **where)
    assert step(client, world["operator"], case, "file").status_code == 200
    assert step(client, world["dispatcher"], case, "dispatch", team="TM1").status_code == 200
    return case


def tasks(client, user, **position):
    client.force_login(user)
    response = client.get(reverse("field-tasks"), position, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    return response.json()["tasks"]


def test_a_member_sees_the_team_tasks_nearest_first_with_their_steps(client, world):
    far = dispatched(client, world, x=150, y=250)
    near = dispatched(client, world, x=40, y=40)
    new_case(world, x=60, y=60)  # reported, not dispatched: not a task
    lon, lat = lonlat(45, 45)
    found = tasks(client, world["member"], lon=lon, lat=lat)
    assert [t["id"] for t in found] == [near.pk, far.pk]
    assert found[0]["distance_m"] == pytest.approx(7, abs=1)
    assert found[0]["steps"] == ["arrive", "return"]
    assert found[0]["clock"]["kind"] == "arrival"
    assert found[0]["navigate"].startswith("geo:")
    # Without a position: by the running clock's deadline.
    assert {t["id"] for t in tasks(client, world["member"])} == {near.pk, far.pk}
    # Another team's member, and a dispatcher, have none / may not ask.
    assert tasks(client, world["stranger"]) == []
    client.force_login(world["dispatcher"])
    assert client.get(reverse("field-tasks")).status_code == 403


def test_on_scene_offers_feedback_and_handle_and_the_inspector_gets_verification(client, world):
    case = dispatched(client, world)
    lon, lat = lonlat(50, 52)
    assert step(client, world["member"], case, "arrive", lon=lon, lat=lat).status_code == 200
    assert tasks(client, world["leader"])[0]["steps"] == ["feedback", "handle"]
    assert step(client, world["member"], case, "handle", files=[media()]).status_code == 200
    assert tasks(client, world["member"]) == []
    found = tasks(client, world["inspector"])
    assert [t["id"] for t in found] == [case.pk] and found[0]["steps"] == ["verify"]


def test_bad_positions_are_refused(client, world):
    client.force_login(world["member"])
    response = client.get(reverse("field-tasks"), {"lon": "abc", "lat": "1"})
    assert response.status_code == 400
    response = client.get(reverse("field-tasks"), {"lon": "200", "lat": "1"})
    assert response.status_code == 400 and "outside the world" in response.content.decode()


def test_a_field_member_reports_a_problem_found_on_patrol(client, world):
    client.force_login(world["member"])
    lon, lat = lonlat(70, 70)
    response = client.post(
        reverse("case-list"),
        {"source": "inspector", "category": "E9901", "lon": lon, "lat": lat, "files": [media()]},
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.reporter == world["member"] and case.source == "inspector"
    assert case.evidence.count() == 1
    # A hotline source is not theirs.
    response = client.post(
        reverse("case-list"),
        {"source": "hotline", "category": "E9901", "lon": lon, "lat": lat},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_self_disposal_needs_before_and_after_and_waits_for_verification(client, world):
    client.force_login(world["member"])
    lon, lat = lonlat(80, 80)
    url = reverse("case-self-disposed")
    body = {"category": "E9901", "lon": lon, "lat": lat, "description": "随手清理"}
    response = client.post(url, {**body, "before": [media()]}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "after" in response.json()
    assert not Case.objects.filter(source="self").exists()
    response = client.post(url, {**body, "before": [media()], "after": [media()]})
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.stage == "handled" and case.source == "self"
    assert set(case.evidence.values_list("phase", flat=True)) == {
        Evidence.Phase.BEFORE,
        Evidence.Phase.AFTER,
    }
    # A fake photo is refused, and nothing is written.
    fake = media()
    fake = type(fake)(b"not an image at all")
    fake.name = "x.jpg"
    response = client.post(url, {**body, "before": [fake], "after": [media()]})
    assert response.status_code == 400
    assert Case.objects.filter(source="self").count() == 1
    client.force_login(world["dispatcher"])
    assert client.post(url, {**body, "before": [media()], "after": [media()]}).status_code == 403
