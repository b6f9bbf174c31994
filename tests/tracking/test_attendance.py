"""Attendance (考勤): check-in / check-out against the shift plan and the team's base, absences
of shifts nobody checked in to, the scoped list; on duty from fresh positions (the sweep, run
by a real Celery beat and worker).

Team TM1 of the small district (tests/factories.py) has its base geofence drawn at x 50..150,
y 50..150 (metres); its base point is (100, 100).
"""

import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cases.models import TeamStatusChange
from gridmap.models import Attendance, Geofence, ShiftPlan, Team, User
from tests.cases.conftest import wait_for
from tests.factories import TeamFactory, UserFactory, lonlat, point, rect
from tracking.services.attendance import absences_write
from tracking.services.duty import duty_sweep
from tracking.shifts import local_zone

from .conftest import fix

pytestmark = pytest.mark.django_db


def shift(team, start: datetime, hours: float = 8) -> ShiftPlan:
    """A weekly shift starting at ``start`` (its local weekday and time)."""
    local = start.astimezone(local_zone())
    end = (local + timedelta(hours=hours)).time()
    return ShiftPlan.objects.create(team=team, weekday=local.weekday(), start=local.time(), end=end)


@pytest.fixture
def base(district):
    return Geofence.objects.create(
        code="BASE1", kind="base", team=district["team"], geom=rect(50, 50, 150, 150)
    )


@pytest.fixture
def member(district):
    user = UserFactory(username="li", role=User.Role.FIELD_MEMBER, team=district["team"])
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def check(client, kind: str, x: float, y: float, **extra):
    lon, lat = lonlat(x, y)
    return client.post(
        "/api/v1/attendance",
        {"kind": kind, "lon": lon, "lat": lat, **extra},
        content_type="application/json",
    )


def minutes_ago(m: float) -> datetime:
    return (timezone.now() - timedelta(minutes=m)).replace(second=0, microsecond=0)


def test_check_in_on_time_at_the_base(member, base, district):
    start = minutes_ago(-10)  # in 10 minutes
    shift(district["team"], start)
    response = check(member, "check_in", 100, 100)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "on_time"
    assert body["distance_m"] == 0
    assert body["team"] == "TM1" and body["user"] == "li"
    row = Attendance.objects.get()
    assert row.shift_start == start
    assert row.geom.distance(point(100, 100)) < 0.01


def test_late_check_in_says_by_how_much(member, base, district):
    shift(district["team"], minutes_ago(30))
    body = check(member, "check_in", 100, 100).json()
    assert body["status"] == "late"
    assert re.search(r"\b3[01]\b", body["note"])  # minutes late, in any language


def test_early_check_out(member, base, district):
    shift(district["team"], minutes_ago(60), hours=2)  # ends in an hour
    body = check(member, "check_out", 100, 100).json()
    assert body["status"] == "early"
    assert re.search(r"\b(59|60)\b", body["note"])  # minutes early


def test_check_in_away_from_the_base_records_the_distance(member, base, district):
    shift(district["team"], minutes_ago(-5))
    body = check(member, "check_in", 300, 250).json()
    assert body["status"] == "away"
    # From (300, 250) to the corner (150, 150) of the base.
    assert body["distance_m"] == pytest.approx(180.3, abs=0.5)


def test_without_a_base_geofence_the_base_point_and_radius_count(member, district, settings):
    shift(district["team"], minutes_ago(-5))
    # The team's base point is (100, 100); default radius 200 m.
    assert check(member, "check_in", 250, 100).json()["status"] == "on_time"
    body = check(member, "check_in", 400, 100).json()
    assert body["status"] == "away"
    assert body["distance_m"] == pytest.approx(100, abs=0.5)


def test_outside_any_shift_is_no_shift(member, base, district):
    shift(district["team"], minutes_ago(-6 * 60))  # in six hours
    assert check(member, "check_in", 100, 100).json()["status"] == "no_shift"


@pytest.mark.parametrize(
    ("role", "team", "payload", "status"),
    [
        (User.Role.COMMANDER, True, {}, 403),
        (User.Role.FIELD_MEMBER, False, {}, 422),
        (User.Role.FIELD_MEMBER, True, {"srs": "EPSG:0000"}, 400),
        (User.Role.FIELD_MEMBER, True, {"kind": "absent"}, 400),
        (User.Role.FIELD_MEMBER, True, {"lon": 300.0}, 400),
    ],
)
def test_who_and_what_may_check_in(district, role, team, payload, status):
    user = UserFactory(role=role, team=district["team"] if team else None)
    client = Client()
    client.force_login(user)
    lon, lat = lonlat(100, 100)
    body = {"kind": "check_in", "lon": lon, "lat": lat, **payload}
    response = client.post("/api/v1/attendance", body, content_type="application/json")
    assert response.status_code == status, response.content
    assert Attendance.objects.count() == 0


def test_the_list_is_scoped_to_the_teams_one_may_see(member, base, district):
    other = TeamFactory(code="TM9", name="保洁队", department=district["team"].department)
    Attendance.objects.create(team=other, kind="absent", at=timezone.now(), status="absent")
    check(member, "check_in", 100, 100)
    mine = member.get("/api/v1/attendance").json()["attendance"]
    assert [(r["team"], r["kind"]) for r in mine] == [("TM1", "check_in")]
    assert member.get("/api/v1/attendance?team=TM9").status_code == 404
    commander = Client()
    commander.force_login(UserFactory(role=User.Role.COMMANDER))
    everything = commander.get("/api/v1/attendance").json()["attendance"]
    assert sorted(r["team"] for r in everything) == ["TM1", "TM9"]
    only = commander.get("/api/v1/attendance?team=TM9").json()["attendance"]
    assert [r["kind"] for r in only] == ["absent"]
    # A period before both rows: nothing.
    earlier = (timezone.now() - timedelta(days=3)).isoformat()
    old = commander.get("/api/v1/attendance", {"to": earlier}).json()["attendance"]
    assert old == []
    assert commander.get("/api/v1/attendance", {"from": "soon"}).status_code == 400
    device = Client()
    device.force_login(UserFactory(role=User.Role.DEVICE))
    assert device.get("/api/v1/attendance").status_code == 403
    assert Client().get("/api/v1/attendance").status_code == 401


def test_absences_are_written_once_after_a_shift_nobody_checked_in_to(district):
    team = district["team"]
    start = minutes_ago(3 * 60)
    shift(team, start, hours=2)  # ended an hour ago
    assert absences_write() == 1
    assert absences_write() == 0
    (row,) = Attendance.objects.all()
    assert row.kind == "absent" and row.user is None and row.shift_start == start


def test_a_check_in_prevents_the_absence(member, district):
    team = district["team"]
    start = minutes_ago(3 * 60)
    shift(team, start, hours=2)
    Attendance.objects.create(
        team=team, user=member.user, kind="check_in", at=start, status="on_time", shift_start=start
    )
    assert absences_write() == 0


def test_a_running_shift_has_no_absence_yet(district):
    shift(district["team"], minutes_ago(60), hours=2)
    assert absences_write() == 0


def test_duty_follows_fresh_positions_and_the_shift(phone, district):
    team = district["team"]
    Team.objects.filter(pk=team.pk).update(status="off_duty")
    shift(team, minutes_ago(60), hours=4)
    untracked = TeamFactory(code="TM8", department=team.department)
    assert duty_sweep() == {"available": 0, "off_duty": 0}  # no fix yet
    phone.post([fix("PHONE-1", timezone.now() - timedelta(seconds=5), 100, 100)])
    assert duty_sweep() == {"available": 1, "off_duty": 0}
    assert Team.objects.get(pk=team.pk).status == "available"
    change = TeamStatusChange.objects.get(team=team)
    assert (change.from_status, change.to_status, change.cause) == (
        "off_duty",
        "available",
        "on_duty",
    )
    # Ten minutes later without a fix: stale, off duty. A team nobody tracks is left alone.
    later = timezone.now() + timedelta(minutes=10)
    assert duty_sweep(now=later) == {"available": 0, "off_duty": 1}
    assert Team.objects.get(pk=untracked.pk).status == "available"


@pytest.mark.django_db(transaction=True)
def test_the_beat_sweep_puts_a_team_with_fresh_fixes_on_duty(phone, district, celery_factory):
    team = district["team"]
    Team.objects.filter(pk=team.pk).update(status="off_duty")
    phone.post([fix("PHONE-1", timezone.now() - timedelta(seconds=5), 100, 100)])
    procs = celery_factory(GRIDMAP_DUTY_SWEEP_S="0.5")
    wait_for(
        lambda: Team.objects.get(pk=team.pk).status == "available",
        timeout=45,
        what=f"the duty sweep to run:\n{procs.output()[-3000:]}",
    )
