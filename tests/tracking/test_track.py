"""Track playback (轨迹回放): GET /api/v1/teams/<code>/track (GeoJSON in WGS-84 with times,
flagged fixes left out unless asked, role- and scope-checked) and the /tracks/<code>/ page in
a real browser (the track drawn, the marker moving along it)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridmap.models import User
from tests.browser.conftest import login
from tests.factories import TeamFactory, UserFactory, local_xy

from .conftest import fix

pytestmark = pytest.mark.django_db


@pytest.fixture
def walked(phone):
    """PHONE-1 (team TM1) walked east along y = 100 from x = 100, 10 m every 10 s, with one
    flagged fix (far outside the district) in between."""
    t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    fixes = [fix("PHONE-1", t0 + timedelta(seconds=10 * k), 100 + 10 * k, 100) for k in range(6)]
    fixes.insert(3, fix("PHONE-1", t0 + timedelta(seconds=25), 9000, 100))
    assert phone.post(fixes).json()["flagged"] == 1
    return t0


def as_user(role: str, **extra) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role, **extra))
    return client


def test_the_track_is_a_line_with_times_and_points(walked, district):
    commander = as_user(User.Role.COMMANDER)
    response = commander.get(
        "/api/v1/teams/TM1/track",
        {"from": (walked - timedelta(minutes=1)).isoformat(), "to": timezone.now().isoformat()},
    )
    assert response.status_code == 200, response.content
    track = response.json()
    line, *points = track["features"]
    assert line["geometry"]["type"] == "LineString"
    xs = [local_xy(*c) for c in line["geometry"]["coordinates"]]
    assert [round(x) for x, _ in xs] == [100, 110, 120, 130, 140, 150]
    assert [round(y) for _, y in xs] == [100] * 6
    times = line["properties"]["times"]
    assert times == sorted(times) and len(times) == 6
    assert len(points) == 6 and all(p["geometry"]["type"] == "Point" for p in points)
    assert {p["properties"]["unit"] for p in points} == {"PHONE-1"}


def test_flagged_fixes_only_when_asked_and_never_in_the_line(walked, district):
    commander = as_user(User.Role.COMMANDER)
    params = {"from": (walked - timedelta(minutes=1)).isoformat(), "flagged": "1"}
    track = commander.get("/api/v1/teams/TM1/track", params).json()
    line, *points = track["features"]
    assert len(line["geometry"]["coordinates"]) == 6
    assert [p["properties"]["flag"] for p in points].count("outside_district") == 1


def test_a_period_without_fixes_is_empty(walked, district):
    commander = as_user(User.Role.COMMANDER)
    early = walked - timedelta(hours=5)
    track = commander.get(
        "/api/v1/teams/TM1/track",
        {"from": early.isoformat(), "to": (early + timedelta(hours=1)).isoformat()},
    ).json()
    assert track["features"] == [] and track["fixes"] == 0


def test_the_track_is_scoped(walked, district):
    TeamFactory(code="TM2", department=district["team"].department)
    own = as_user(User.Role.FIELD_MEMBER, team=district["team"])
    assert own.get("/api/v1/teams/TM1/track").status_code == 200
    stranger = as_user(User.Role.FIELD_MEMBER, team=TeamFactory(code="TM3"))
    assert stranger.get("/api/v1/teams/TM1/track").status_code == 404
    assert as_user(User.Role.DEVICE).get("/api/v1/teams/TM1/track").status_code == 403
    assert Client().get("/api/v1/teams/TM1/track").status_code == 401
    assert as_user(User.Role.COMMANDER).get("/api/v1/teams/NOPE/track").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-01-02T00:00:00+08:00", "to": "2026-01-01T00:00:00+08:00"},
        {"from": "2026-01-01T00:00:00+08:00", "to": "2026-01-20T00:00:00+08:00"},
        {"from": "last week"},
    ],
)
def test_bad_periods_are_400(district, params):
    response = as_user(User.Role.COMMANDER).get("/api/v1/teams/TM1/track", params)
    assert response.status_code == 400


def test_the_page_needs_a_visible_team(district):
    stranger = as_user(User.Role.FIELD_MEMBER, team=TeamFactory(code="TM3"))
    assert stranger.get("/tracks/TM1/").status_code == 404
    assert Client().get("/tracks/TM1/").status_code == 302


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_draws_the_track_and_plays_it(page, live_server, walked, screenshot):
    UserFactory(username="commander", role=User.Role.COMMANDER)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    login(page, live_server, "commander")
    page.goto(f"{live_server.url}/tracks/TM1/")
    page.wait_for_function("window.tracks && window.tracks.line !== null")
    assert page.evaluate("window.tracks.line.getLatLngs().length") == 6
    assert "6" in page.get_by_test_id("track-status").inner_text()
    start = page.evaluate("window.tracks.marker.getLatLng()")
    page.get_by_test_id("track-play").click()
    page.wait_for_function("window.tracks.index >= 3")
    moved = page.evaluate("window.tracks.marker.getLatLng()")
    assert moved["lng"] > start["lng"]  # walked east
    page.get_by_test_id("track-play").click()  # pause
    paused_at = page.evaluate("window.tracks.index")
    page.wait_for_timeout(500)
    assert page.evaluate("window.tracks.index") == paused_at
    # The slider scrubs to the end.
    page.get_by_test_id("track-slider").fill("5")
    end = page.evaluate("window.tracks.marker.getLatLng()")
    last = page.evaluate("window.tracks.points[5]")
    assert (end["lat"], end["lng"]) == pytest.approx(tuple(last))
    screenshot("track-page")
    # A period without fixes says so.
    page.fill("[data-testid=track-from]", "2020-01-01T08:00")
    page.fill("[data-testid=track-to]", "2020-01-01T18:00")
    page.get_by_test_id("track-load").click()
    page.wait_for_function("window.tracks.line === null")
    assert page.get_by_test_id("track-status").inner_text() != ""
    outside = [u for u in requests if not u.startswith(live_server.url)]
    assert outside == [], f"the page fetched from outside: {outside}"
    assert page.js_errors == []
