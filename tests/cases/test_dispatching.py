"""Dispatch on the small district (tests/factories.py): one team at a time, the team's status in
step with its cases, "arrived" near the case only, returns against dispatch accuracy.

Team TM1 (执法一中队) is stationed at (100, 100); its jurisdiction J1 covers both communities.
A second team TM2 of the same department helps in the races and the queue.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases.loop import LoopError, Step, transition_apply
from cases.loop.dispatching import dispatch_accuracy
from cases.loop.teams import status_derive, teams_back_from_jobs
from cases.models import Case, CaseEvent, TeamStatusChange
from gridmap.models import Team, User
from tests.cases.test_loop import media, new_case, step
from tests.cases.test_loop import world as world
from tests.factories import TeamFactory, UserFactory, lonlat, point

pytestmark = pytest.mark.django_db


def team_status(code: str) -> str:
    return Team.objects.get(code=code).status


def filed(client, world, **where) -> Case:
    case = new_case(world, **where)
    assert step(client, world["operator"], case, "file").status_code == 200
    return case


# --- the status machine, without a database -------------------------------------------------


@pytest.mark.parametrize(
    ("current", "stages", "cause", "expected"),
    [
        ("available", ["dispatched"], "dispatch", "responding"),
        ("returning", ["dispatched"], "dispatch", "responding"),
        ("responding", ["on_scene"], "arrive", "on_scene"),
        ("on_scene", [], "handle", "returning"),
        ("on_scene", ["dispatched"], "handle", "responding"),  # the next task waits
        ("responding", [], "return", "available"),
        ("on_scene", [], "void", "available"),
        ("responding", ["dispatched", "on_scene"], "dispatch", "on_scene"),
        ("available", [], "file", "available"),
        ("off_duty", [], "file", "off_duty"),
    ],
)
def test_status_follows_the_open_work(current, stages, cause, expected):
    assert status_derive(current, stages, cause) == expected


# --- through the loop -----------------------------------------------------------------------


def test_the_team_status_follows_its_case_from_dispatch_to_return(client, world):
    case = filed(client, world)
    assert team_status("TM1") == "available"
    assert step(client, world["dispatcher"], case, "dispatch", team="TM1").status_code == 200
    assert team_status("TM1") == "responding"
    lon, lat = lonlat(55, 50)  # 5 m from the case
    assert step(client, world["member"], case, "arrive", lon=lon, lat=lat).status_code == 200
    assert team_status("TM1") == "on_scene"
    done = step(client, world["member"], case, "handle", files=[media()], phase="after")
    assert done.status_code == 200
    assert team_status("TM1") == "returning"
    changes = list(
        TeamStatusChange.objects.filter(team__code="TM1")
        .order_by("at", "id")
        .values_list("to_status", "cause")
    )
    assert changes == [("responding", "dispatch"), ("on_scene", "arrive"), ("returning", "handle")]
    # Back after GRIDMAP_RETURNING_MINUTES (default 15): the clock sweep makes it available.
    assert teams_back_from_jobs(now=timezone.now() + timedelta(minutes=5)) == 0
    assert teams_back_from_jobs(now=timezone.now() + timedelta(minutes=16)) == 1
    assert team_status("TM1") == "available"


def test_a_team_with_a_second_task_goes_from_one_to_the_next(client, world):
    first, second = filed(client, world), filed(client, world, x=150, y=60)
    step(client, world["dispatcher"], first, "dispatch", team="TM1")
    step(client, world["dispatcher"], second, "dispatch", team="TM1")
    lon, lat = lonlat(50, 50)
    step(client, world["member"], first, "arrive", lon=lon, lat=lat)
    assert team_status("TM1") == "on_scene"
    step(client, world["member"], first, "handle", files=[media()], phase="after")
    assert team_status("TM1") == "responding"  # off to the second case


def test_the_leader_says_the_team_is_ready_and_off_duty_only_without_tasks(client, world):
    case = filed(client, world)
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    client.force_login(world["leader"])
    url = reverse("team-status", args=["TM1"])
    refused = client.post(
        url, {"status": "off_duty"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 409 and "1 open task" in str(refused.json())
    assert team_status("TM1") == "responding"
    client.force_login(world["member"])  # a member does not set the status
    assert (
        client.post(url, {"status": "available"}, content_type="application/json").status_code
        == 403
    )
    client.force_login(world["dispatcher"])
    bad = client.post(url, {"status": "on_scene"}, content_type="application/json")
    assert bad.status_code == 400  # follows the cases, not set by hand
    history = client.get(url).json()
    assert [c["to"] for c in history["changes"]] == ["responding"]


def test_nobody_dispatches_to_a_team_that_is_off_duty(client, world):
    Team.objects.filter(code="TM1").update(status="off_duty")
    case = filed(client, world)
    response = step(client, world["dispatcher"], case, "dispatch", team="TM1")
    assert response.status_code == 409 and "off duty" in str(response.json())
    case.refresh_from_db()
    assert case.stage == "registered" and case.team is None


def test_a_return_frees_the_case_and_the_team_and_counts_against_accuracy(client, world):
    returned, kept = filed(client, world), filed(client, world, x=120)
    step(client, world["dispatcher"], returned, "dispatch", team="TM1")
    step(client, world["dispatcher"], kept, "dispatch", team="TM1")
    assert dispatch_accuracy() == {"dispatches": 2, "returns": 0, "accuracy": 1.0}
    approval = step(client, world["member"], returned, "return", note="不属于本队").json()
    client.force_login(world["dispatcher"])
    client.post(reverse("approval-approve", args=[approval["approval"]["id"]]))
    returned.refresh_from_db()
    assert returned.stage == "registered" and returned.team is None
    assert team_status("TM1") == "responding"  # still has the other case
    TeamFactory(code="TM2", department=world["team"].department)
    again = step(client, world["dispatcher"], returned, "dispatch", team="TM2")
    assert again.status_code == 200
    assert dispatch_accuracy() == {"dispatches": 3, "returns": 1, "accuracy": round(2 / 3, 4)}
    assert team_status("TM2") == "responding"


# --- arrival --------------------------------------------------------------------------------


def test_arrival_is_accepted_near_the_case_and_far_only_with_a_reason(client, world):
    case = filed(client, world)
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    far = lonlat(50, 200)  # 150 m north of the case
    refused = step(client, world["member"], case, "arrive", lon=far[0], lat=far[1])
    assert refused.status_code == 409
    assert "150 m" in str(refused.json()) and "override_reason" in str(refused.json())
    case.refresh_from_db()
    assert case.stage == "dispatched"
    accepted = step(
        client,
        world["member"],
        case,
        "arrive",
        lon=far[0],
        lat=far[1],
        override_reason="围挡封路, 只能停在北侧路口",
    )
    assert accepted.status_code == 200
    event = case.events.get(kind="arrive")
    assert event.data["distance_m"] == pytest.approx(150, abs=0.5)
    assert event.data["override_reason"] == "围挡封路, 只能停在北侧路口"


def test_arrival_without_coordinates_uses_the_teams_fresh_fix(client, world):
    case = filed(client, world)
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    team = world["team"]
    team.position_geom, team.position_at = point(60, 55), timezone.now() - timedelta(minutes=20)
    team.save()
    stale = step(client, world["member"], case, "arrive")
    assert stale.status_code == 400 and "no fresh GPS fix" in str(stale.json())
    Team.objects.filter(pk=team.pk).update(position_at=timezone.now())
    assert step(client, world["member"], case, "arrive").status_code == 200
    assert case.events.get(kind="arrive").data["position"] == "team_gps"


# --- one team at a time: two dispatchers racing ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_racing_for_one_case_exactly_one_wins(world):
    """Two separate database connections (threads), released together by a barrier."""
    TeamFactory(code="TM2", department=world["team"].department)
    second = UserFactory(username="disp2", role=User.Role.DISPATCHER)
    case = new_case(world)
    transition_apply(case_id=case.pk, name="file", actor=world["operator"])
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def dispatch(who: User, team: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcome = transition_apply(
                case_id=case.pk, name="dispatch", actor=who, step=Step(params={"team": team})
            )
            results[team] = outcome.event.pk
        except LoopError as exc:
            results[team] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=dispatch, args=(world["dispatcher"], "TM1")),
        threading.Thread(target=dispatch, args=(second, "TM2")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    errors = [r for r in results.values() if isinstance(r, LoopError)]
    assert len(results) == 2 and len(errors) == 1
    assert errors[0].status == 409 and "dispatched" in errors[0].message
    winner = next(team for team, r in results.items() if not isinstance(r, LoopError))
    case.refresh_from_db()
    assert case.stage == "dispatched" and case.team.code == winner
    assert CaseEvent.objects.filter(case=case, kind="dispatch").count() == 1
    loser = "TM2" if winner == "TM1" else "TM1"
    assert team_status(winner) == "responding" and team_status(loser) == "available"
