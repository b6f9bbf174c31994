"""Who answers for a case: the category's department, a component's owner, per-community rules
(configured in the admin), frontage holders on the record, and which teams a user sees.

The small district (tests/factories.py): west community c1 (0–200 m), east community c2
(200–400 m); frontage zone F1 (张记面馆) at (20–60, 140–160); team TM1 covers both.
"""

import pytest
from django.urls import reverse

from cases.models import ResponsibilityRule
from cases.responsibility import responsibility_for
from gridmap.models import User
from tests.cases.test_loop import new_case
from tests.cases.test_loop import world as world
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    TeamFactory,
    UserFactory,
    ZoneFactory,
    rect,
)

pytestmark = pytest.mark.django_db


def department_code(case) -> str:
    case.refresh_from_db()
    return case.department.code


def test_the_category_names_the_department_unless_a_rule_overrides_it(world):
    category = CategoryFactory(code="E9901")
    default = category.department.code
    assert department_code(new_case(world, x=50)) == default  # west
    assert department_code(new_case(world, x=300)) == default  # east

    east_office = DepartmentFactory(code="D77", name="东社区物业办")
    ResponsibilityRule.objects.create(
        community=world["c2"], category=category, department=east_office
    )
    assert department_code(new_case(world, x=50)) == default
    assert department_code(new_case(world, x=300)) == "D77"


def test_the_most_specific_rule_wins(world):
    category = CategoryFactory(code="E9901")
    district_wide, community_wide, both = (
        DepartmentFactory(code=code) for code in ("D71", "D72", "D73")
    )
    ResponsibilityRule.objects.create(category=category, department=district_wide)
    ResponsibilityRule.objects.create(community=world["c1"], department=community_wide)
    assert department_code(new_case(world, x=50)) == "D71"  # category beats community
    assert department_code(new_case(world, x=300)) == "D71"
    ResponsibilityRule.objects.create(community=world["c1"], category=category, department=both)
    assert department_code(new_case(world, x=50)) == "D73"
    assert department_code(new_case(world, x=300)) == "D71"


def test_a_rule_can_limit_the_teams_that_may_be_sent(world):
    category = CategoryFactory(code="E9901")
    night_team = TeamFactory(code="TM9", department=world["team"].department)
    rule = ResponsibilityRule.objects.create(community=world["c1"], category=category)
    rule.teams.add(night_team)
    west, east = new_case(world, x=50), new_case(world, x=300)
    assert responsibility_for(west).team_ids == frozenset({night_team.pk})
    assert responsibility_for(east).team_ids is None
    assert responsibility_for(west).department_id == category.department_id  # not overridden


def test_only_one_rule_per_community_and_category(world):
    from django.db import IntegrityError, transaction

    category = CategoryFactory(code="E9901")
    ResponsibilityRule.objects.create(category=category, department=category.department)
    with pytest.raises(IntegrityError), transaction.atomic():
        # district-wide twice: NULL community must count as equal
        ResponsibilityRule.objects.create(category=category, department=category.department)


def test_the_frontage_holder_is_on_the_record_and_notified(world):
    CategoryFactory(code="E9901")
    holder = UserFactory(username="zhang", role=User.Role.COMMUNITY_LEAD)
    ZoneFactory(
        code="F2",
        kind="frontage",
        holder="李记超市",
        geom=rect(20, 130, 70, 170),
        responsible_user=holder,
    )
    case = new_case(world, x=40, y=150)  # in front of 张记面馆 and 李记超市
    report = case.events.get(kind="report")
    assert sorted(report.data["frontage"]) == [["F1", "张记面馆"], ["F2", "李记超市"]]
    assert holder.notifications.filter(case=case, kind="frontage").exists()
    elsewhere = new_case(world, x=150, y=50)
    assert "frontage" not in elsewhere.events.get(kind="report").data


def test_who_sees_which_teams(client, world):
    dept = world["team"].department
    TeamFactory(code="TM2", department=dept)  # no jurisdiction
    other_dept = TeamFactory(code="TM3")
    east_only = ZoneFactory(code="J3", kind="jurisdiction", geom=rect(250, 0, 400, 300))
    other_dept.jurisdictions.add(east_only)

    def codes(user):
        client.force_login(user)
        response = client.get(reverse("team-list"))
        return response.status_code, [t["code"] for t in response.json().get("teams", [])]

    assert codes(world["dispatcher"]) == (200, ["TM1", "TM2", "TM3"])
    head = UserFactory(username="head", role=User.Role.DEPARTMENT_HEAD, department=dept)
    assert codes(head) == (200, ["TM1", "TM2"])
    assert codes(world["member"]) == (200, ["TM1"])
    west_lead = UserFactory(username="west", role=User.Role.COMMUNITY_LEAD, community=world["c1"])
    assert codes(west_lead) == (200, ["TM1"])
    assert codes(world["east_lead"]) == (200, ["TM1", "TM3"])
    assert codes(world["inspector"])[0] == 403
    client.force_login(world["member"])
    assert client.get(reverse("team-status", args=["TM3"])).status_code == 404


def test_the_team_list_shows_queue_and_stale_positions(client, world):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import point

    CategoryFactory(code="E9901")
    team = world["team"]
    team.position_geom, team.position_at = point(100, 100), timezone.now() - timedelta(hours=1)
    team.save()
    client.force_login(world["operator"])
    for x in (50, 60):
        case = new_case(world, x=x)
        client.post(reverse("case-transition", args=[case.pk, "file"]))
    client.force_login(world["dispatcher"])
    client.post(
        reverse("case-transition", args=[case.pk, "dispatch"]),
        {"team": "TM1"},
        content_type="application/json",
    )
    (row,) = client.get(reverse("team-list")).json()["teams"]
    assert row["queue"] == 1 and row["status"] == "responding"
    assert row["position_stale"] is True
    assert row["position"]["coordinates"][0] == pytest.approx(113.70, abs=0.1)
