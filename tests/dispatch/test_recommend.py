"""The recommendation on a hand-drawn square of streets in the small district (tests/factories.py).

Local metres; W is one-way southbound (drawn north → south), E a primary road (40 km/h), the
rest branch roads (20 km/h); the access legs count at the fallback speed (15 km/h)::

    y 250   +---------- N ----------+
            |                       |
            W (one-way, southbound) E (primary)
            |                       |
    y  50   +---------- S ----------+
           x=50                   x=350

Every team of department DX has the whole district (J1) as its jurisdiction unless a test says
otherwise; positions are fresh (10 s old) unless a test makes them stale.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Notification, ResponsibilityRule
from cases.services import case_report
from dispatch.network import network_rebuild
from dispatch.recommend import recommend
from gridmap.models import Road, ShiftPlan, User
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    RoadFactory,
    TeamFactory,
    UserFactory,
    ZoneFactory,
    line,
    lonlat,
    point,
    rect,
    small_district,
)

pytestmark = pytest.mark.django_db

BRANCH_MPS = 20 / 3.6
PRIMARY_MPS = 40 / 3.6
FALLBACK_MPS = 15 / 3.6


@pytest.fixture
def area():
    d = small_district()
    d["dept"] = DepartmentFactory(code="DX", name="执法局")
    d["category"] = CategoryFactory(code="E9911", minor_name="占道经营", department=d["dept"])
    d["empty_dept"] = DepartmentFactory(code="DY", name="无人部门")
    CategoryFactory(code="E9912", minor_name="无人管", department=d["empty_dept"])
    d["operator"] = UserFactory(username="op", role=User.Role.OPERATOR)
    d["dispatcher"] = UserFactory(username="disp", role=User.Role.DISPATCHER)
    d["shift1"] = UserFactory(username="shift1", role=User.Role.SHIFT_LEADER)
    d["shift2"] = UserFactory(username="shift2", role=User.Role.SHIFT_LEADER)
    d["east_lead"] = UserFactory(username="east", role=User.Role.COMMUNITY_LEAD, community=d["c2"])
    RoadFactory(code="S", geom=line((50, 50), (350, 50)))
    RoadFactory(code="E", road_class="primary", geom=line((350, 50), (350, 250)))
    RoadFactory(code="N", geom=line((350, 250), (50, 250)))
    RoadFactory(code="W", oneway=True, geom=line((50, 250), (50, 50)))
    network_rebuild()
    return d


def team(area, code, x, y, *, status="available", age_s=10, base=None, zone=None):
    t = TeamFactory(
        code=code,
        name=f"队{code}",
        department=area["dept"],
        status=status,
        base_geom=point(*(base or (x, y))),
        position_geom=point(x, y),
        position_at=timezone.now() - timedelta(seconds=age_s),
    )
    t.jurisdictions.add(zone or area["jurisdiction"])
    return t


def case_at(area, x, y, category="E9911") -> Case:
    lon, lat = lonlat(x, y)
    return case_report(
        source="hotline", category_code=category, lon=lon, lat=lat, reporter=area["operator"]
    )


def ranked(rec) -> list[str]:
    return [c.team_code for c in rec.candidates]


def test_one_way_streets_are_respected(area):
    case = case_at(area, 50, 230)  # on W, 20 m below the north-west corner
    team(area, "TA", 50, 70)  # 160 m away in a straight line, but W runs southbound only
    team(area, "TB", 350, 230)  # 300 m away in a straight line
    rec = recommend(case)
    assert ranked(rec) == ["TB", "TA"]
    b, a = rec.candidates
    assert b.method == a.method == "network" and b.reason == a.reason == ""
    # TB: up E (20 m), along N (300 m), down W (20 m).
    assert b.distance_m == pytest.approx(340, abs=0.5)
    assert b.eta_s == pytest.approx(20 / PRIMARY_MPS + 320 / BRANCH_MPS, abs=0.2)
    # TA: down W, round S, E and N, down W again.
    assert a.distance_m == pytest.approx(840, abs=0.5)
    assert a.eta_s == pytest.approx(20 / BRANCH_MPS + 300 / BRANCH_MPS + 200 / PRIMARY_MPS
                                    + 320 / BRANCH_MPS, abs=0.2)  # fmt: skip
    # The route runs from the team to the case (WGS-84).
    route = b.route_geojson()["coordinates"]
    assert route[0] == pytest.approx(list(lonlat(350, 230)), abs=1e-6)
    assert route[-1] == pytest.approx(list(lonlat(50, 230)), abs=1e-6)
    assert any(abs(x - lonlat(50, 250)[0]) < 1e-6 for x, _ in route)  # via the NW corner

    # Two-way, W takes TA straight up: the nearer team wins.
    Road.objects.filter(code="W").update(oneway=False)
    network_rebuild()
    rec = recommend(case)
    assert ranked(rec) == ["TA", "TB"]
    assert rec.candidates[0].distance_m == pytest.approx(160, abs=0.5)


def test_ties_go_to_the_shorter_distance_then_the_team_code(area):
    case = case_at(area, 350, 50)  # the south-east corner
    team(area, "TP", 350, 250)  # 200 m up E at 40 km/h: 18 s
    team(area, "TQ", 250, 50)  # 100 m along S at 20 km/h: 18 s
    team(area, "TZ", 150, 50)  # 200 m along S: 36 s
    team(area, "TY", 150, 50)  # the same spot as TZ
    rec = recommend(case)
    assert ranked(rec) == ["TQ", "TP", "TY", "TZ"]
    q, p, y, z = rec.candidates
    assert q.eta_s == pytest.approx(p.eta_s, abs=0.05) == pytest.approx(18.0, abs=0.05)
    assert q.distance_m < p.distance_m
    assert (y.eta_s, y.distance_m) == (z.eta_s, z.distance_m)
    assert [c.rank for c in rec.candidates] == [1, 2, 3, 4]
    # The same question, the same answer.
    assert ranked(recommend(case)) == ranked(rec)
    # Top N cuts the list after the ties are settled.
    assert ranked(recommend(case, top=3)) == ["TQ", "TP", "TY"]


def test_busy_teams_come_after_the_available_with_their_queue(area):
    case = case_at(area, 200, 50)
    busy = team(area, "TB", 190, 50, status="responding")  # right next to the case
    team(area, "TF", 350, 250)
    for _ in range(2):
        other = case_at(area, 300, 250)
        Case.objects.filter(pk=other.pk).update(stage="dispatched", team=busy)
    team(area, "TR", 350, 240, status="returning")  # back from a job: can go
    team(area, "TO", 200, 60, status="off_duty")  # not sent
    rec = recommend(case)
    assert ranked(rec) == ["TR", "TF", "TB"]
    assert [c.available for c in rec.candidates] == [True, True, False]
    assert [c.queue for c in rec.candidates] == [0, 0, 2]
    assert rec.eligible == 3


def test_teams_off_shift_or_outside_their_jurisdiction_are_not_eligible(area):
    case = case_at(area, 150, 50)  # community C1 (west)
    team(area, "TN", 200, 60)
    east = ZoneFactory(code="J2", kind="jurisdiction", geom=rect(200, 0, 400, 300))
    team(area, "TE", 250, 50, zone=east)  # covers C2 only
    off = team(area, "TS", 210, 50)
    weekday = (timezone.localtime().weekday() + 3) % 7  # a shift on another day only
    ShiftPlan.objects.create(team=off, weekday=weekday, start="08:00", end="17:00")
    assert ranked(recommend(case)) == ["TN"]


def test_a_responsibility_rule_names_the_only_teams(area):
    case = case_at(area, 150, 50)  # community C1
    team(area, "TN", 200, 60)
    elsewhere = ZoneFactory(code="J9", kind="jurisdiction", geom=rect(300, 200, 400, 300))
    chosen = team(area, "TC", 350, 250, zone=elsewhere)
    rule = ResponsibilityRule.objects.create(community=area["c1"], category=area["category"])
    rule.teams.add(chosen)
    assert ranked(recommend(case)) == ["TC"]


def test_a_stale_position_falls_back_to_a_straight_line_from_the_base(area):
    case = case_at(area, 200, 50)
    team(area, "TS", 200, 60, age_s=600, base=(200, 250))  # last fix 10 min old
    team(area, "TF", 350, 250)
    rec = recommend(case)
    stale = next(c for c in rec.candidates if c.team_code == "TS")
    assert stale.method == "straight_line" and stale.origin == "base"
    assert "fresh position" in stale.reason and "base" in stale.reason
    assert stale.distance_m == pytest.approx(200, abs=0.1)
    assert stale.eta_s == pytest.approx(200 / FALLBACK_MPS, abs=0.1)
    assert len(stale.route_geojson()["coordinates"]) == 2
    fresh = next(c for c in rec.candidates if c.team_code == "TF")
    assert fresh.method == "network" and fresh.origin == "position"


def test_no_road_path_falls_back_to_a_straight_line(area):
    RoadFactory(code="ISO", geom=line((150, 150), (250, 150)))  # touches no other road
    network_rebuild()
    case = case_at(area, 200, 60)
    team(area, "TI", 200, 150)
    rec = recommend(case)
    (c,) = rec.candidates
    assert c.method == "straight_line" and c.origin == "position"
    assert "no road path" in c.reason
    assert c.distance_m == pytest.approx(90, abs=0.1)


def test_without_a_network_every_estimate_is_a_straight_line(area):
    from dispatch.models import NetworkEdge, NetworkState

    # As before the first build (a fresh database, roads just imported).
    NetworkEdge.objects.all().delete()
    NetworkState.objects.update(built_version=-1, built_at=None)
    case = case_at(area, 200, 60)
    team(area, "TF", 200, 250)
    rec = recommend(case)
    assert not rec.network_current
    assert rec.candidates[0].method == "straight_line"
    assert rec.candidates[0].reason == "no road network built yet"


def test_no_eligible_team_gives_a_clear_answer_and_tells_the_shift_leaders(area):
    case = case_at(area, 200, 60, category="E9912")  # department DY has no teams
    rec = recommend(case)
    assert rec.candidates == [] and rec.eligible == 0
    assert "无人部门" in rec.message and "no field teams" in rec.message
    assert rec.escalated
    notes = Notification.objects.filter(case=case, kind="no_team")
    assert sorted(n.user.username for n in notes) == ["shift1", "shift2"]
    assert "无人部门" in notes[0].body
    # Asking again does not alert again.
    again = recommend(case)
    assert again.message == rec.message and not again.escalated
    assert Notification.objects.filter(case=case, kind="no_team").count() == 2


def test_all_teams_off_duty_is_said_so(area):
    case = case_at(area, 200, 60)
    team(area, "TO", 200, 70, status="off_duty")
    rec = recommend(case)
    assert rec.candidates == []
    assert "on shift and on duty" in rec.message
    assert rec.escalated


# --- the API ---------------------------------------------------------------------------------


def get(client, user, case, **params):
    client.force_login(user)
    url = reverse("case-recommendation", args=[case.pk])
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


def test_the_api_answers_dispatchers(client, area):
    case = case_at(area, 50, 230)
    team(area, "TA", 50, 70)
    team(area, "TB", 350, 230)
    response = get(client, area["dispatcher"], case)
    assert response.status_code == 200
    body = response.json()
    assert body["case"] == case.pk and body["department"] == "DX"
    assert body["eligible"] == 2 and body["network_current"] is True
    first = body["candidates"][0]
    assert first["team_code"] == "TB" and first["rank"] == 1 and first["available"] is True
    assert first["method"] == "network" and first["distance_m"] == pytest.approx(340, abs=0.5)
    assert first["route"]["type"] == "LineString"
    assert first["route"]["coordinates"][-1] == pytest.approx(list(lonlat(50, 230)), abs=1e-6)
    assert len(get(client, area["dispatcher"], case, top=1).json()["candidates"]) == 1
    assert get(client, area["dispatcher"], case, top="x").status_code == 400


def test_the_api_checks_role_and_area(client, area):
    case = case_at(area, 50, 230)  # community C1
    team(area, "TA", 50, 70)
    assert get(client, area["operator"], case).status_code == 403  # sees it, does not dispatch
    assert get(client, area["east_lead"], case).status_code == 404  # C2's lead: not in her area
    client.logout()
    assert client.get(reverse("case-recommendation", args=[case.pk])).status_code == 401
    missing = reverse("case-recommendation", args=[case.pk + 1000])
    client.force_login(area["dispatcher"])
    assert client.get(missing).status_code == 404


def test_a_team_far_from_any_road_walks_to_the_nearest_one(area):
    case = case_at(area, 200, 250)  # on N
    team(area, "TW", 200, 600)  # 350 m north of N, beyond the bounded snapping search
    team(area, "TN", 120, 252)  # 2 m off N, 80 m along it
    rec = recommend(case)
    assert ranked(rec) == ["TN", "TW"]
    near, far = rec.candidates
    assert far.method == near.method == "network"
    assert far.distance_m == pytest.approx(350, abs=0.5)
    assert far.eta_s == pytest.approx(350 / FALLBACK_MPS, abs=0.2)  # all on foot
    assert near.distance_m == pytest.approx(82, abs=0.5)
    assert near.eta_s == pytest.approx(2 / FALLBACK_MPS + 80 / BRANCH_MPS, abs=0.2)
