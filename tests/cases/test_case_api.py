"""The case list and detail, scoped by role and area; the public report endpoints."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from cases.services import case_report
from gridmap.models import User
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    TeamFactory,
    UserFactory,
    ZoneFactory,
    lonlat,
    rect,
    small_district,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases():
    """Four cases: two in the west community (W1 garbage, W2 vending), two in the east."""
    area = small_district()
    garbage = CategoryFactory(code="E9901", minor_name="暴露垃圾")
    vending = CategoryFactory(
        code="E9902", minor_name="占道经营", department=DepartmentFactory(code="D03", name="综治办")
    )
    now = timezone.now()

    def make(x, y, category, *, source="inspector", hours_ago=0):
        lon, lat = lonlat(x, y)
        return case_report(
            source=source,
            category_code=category.code,
            lon=lon,
            lat=lat,
            reported_at=now - timedelta(hours=hours_ago),
        )

    area["W1"] = make(50, 50, garbage, hours_ago=30)
    area["W2"] = make(150, 250, vending, source="hotline", hours_ago=5)
    area["E1"] = make(250, 50, garbage, hours_ago=2)
    area["E2"] = make(350, 250, vending, hours_ago=1)
    return area


def ids(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return sorted(f["id"] for f in body["features"])


def login(client, role, **scope):
    user = UserFactory(username=f"u-{role}-{len(scope)}", role=role, **scope)
    client.force_login(user)
    return user


def test_the_list_filters_by_area_stage_category_source_time_and_bbox(client, cases):
    login(client, User.Role.COMMANDER)
    url = reverse("case-list")
    everything = ids(client.get(url))
    assert everything == sorted(cases[k].pk for k in ("W1", "W2", "E1", "E2"))
    assert ids(client.get(url, {"community": "410199001001"})) == sorted(
        [cases["W1"].pk, cases["W2"].pk]
    )
    assert ids(client.get(url, {"category": "E9902"})) == sorted([cases["W2"].pk, cases["E2"].pk])
    assert ids(client.get(url, {"source": "hotline"})) == [cases["W2"].pk]
    assert ids(client.get(url, {"grid": "410199001002001"})) == [cases["E2"].pk]
    assert ids(client.get(url, {"department": "D03"})) == sorted([cases["W2"].pk, cases["E2"].pk])
    since = (timezone.now() - timedelta(hours=3)).isoformat()
    assert ids(client.get(url, {"reported_after": since})) == sorted(
        [cases["E1"].pk, cases["E2"].pk]
    )
    (w, s), (e, n) = lonlat(200, 0), lonlat(400, 150)
    assert ids(client.get(url, {"bbox": f"{w},{s},{e},{n}"})) == [cases["E1"].pk]
    Case.objects.filter(pk=cases["E2"].pk).update(stage="closed")
    assert ids(client.get(url, {"stage": ["closed", "registered"]})) == [cases["E2"].pk]
    assert client.get(url, {"bbox": "1,2,3"}).status_code == 400
    assert client.get(url, {"stage": "nonsense"}).status_code == 400


def test_the_list_is_paginated_newest_first(client, cases):
    login(client, User.Role.OPERATOR)
    page = client.get(reverse("case-list"), {"page_size": 3}).json()
    assert page["count"] == 4 and len(page["features"]) == 3 and page["next"]
    assert page["features"][0]["id"] == cases["E2"].pk
    props = page["features"][0]["properties"]
    assert props["category"] == {"code": "E9902", "name": "占道经营"}
    assert page["features"][0]["geometry"]["type"] == "Point"


def test_a_community_lead_sees_only_their_community_even_by_id(client, cases):
    login(client, User.Role.COMMUNITY_LEAD, community=cases["c1"])
    assert ids(client.get(reverse("case-list"))) == sorted([cases["W1"].pk, cases["W2"].pk])
    assert client.get(reverse("case-detail", args=[cases["W1"].pk])).status_code == 200
    other = client.get(reverse("case-detail", args=[cases["E1"].pk]))
    missing = client.get(reverse("case-detail", args=[999_999]))
    assert other.status_code == missing.status_code == 404
    assert other.json().keys() == missing.json().keys()


def test_a_department_head_sees_their_departments_cases(client, cases):
    department = cases["W2"].department
    login(client, User.Role.DEPARTMENT_HEAD, department=department)
    assert ids(client.get(reverse("case-list"))) == sorted([cases["W2"].pk, cases["E2"].pk])


def test_a_field_member_sees_their_teams_cases(client, cases):
    team = TeamFactory(code="TX")
    Case.objects.filter(pk=cases["E1"].pk).update(team=team)
    login(client, User.Role.FIELD_MEMBER, team=team)
    assert ids(client.get(reverse("case-list"))) == [cases["E1"].pk]
    assert client.get(reverse("case-detail", args=[cases["W1"].pk])).status_code == 404


def test_an_inspector_sees_their_patrol_zone_and_their_own_reports(client, cases):
    inspector = login(client, User.Role.INSPECTOR)
    zone = ZoneFactory(
        code="PZ1", kind="patrol", geom=rect(200, 0, 400, 300), responsible_user=inspector
    )
    cases["E1"].zones.add(zone)
    cases["E2"].zones.add(zone)
    assert ids(client.get(reverse("case-list"))) == sorted([cases["E1"].pk, cases["E2"].pk])


def test_the_detail_has_address_evidence_and_history(client, cases):
    login(client, User.Role.SHIFT_LEADER)
    props = client.get(reverse("case-detail", args=[cases["W1"].pk])).json()["properties"]
    assert props["subdistrict"]["code"] == "410199001"
    assert props["history"][0]["kind"] == "report"
    assert props["evidence"] == []
    assert props["tracking"] == cases["W1"].tracking


def test_a_citizen_reports_without_logging_in_and_follows_the_status(client, cases):
    lon, lat = lonlat(120, 120)
    response = client.post(
        reverse("public-report"),
        {
            "category": "E9901",
            "lon": lon,
            "lat": lat,
            "description": "路边有垃圾",
            "contact_email": "citizen@example.org",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    tracking = response.json()["tracking"]
    case = Case.objects.get(tracking=tracking)
    assert case.source == "public" and case.reporter is None
    assert case.contact_email == "citizen@example.org"
    status = client.get(reverse("public-report-status", args=[tracking.lower()])).json()
    assert status["stage"] == "reported" and status["tracking"] == tracking
    assert client.get(reverse("public-report-status", args=["GMNOSUCHCASE"])).status_code == 404


def test_public_reports_need_no_csrf_token_and_never_act_as_the_logged_in_user(cases):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(UserFactory(username="someone", role=User.Role.COMMANDER))
    lon, lat = lonlat(120, 120)
    response = browser.post(
        reverse("public-report"),
        {"category": "E9901", "lon": lon, "lat": lat},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Case.objects.get(tracking=response.json()["tracking"]).reporter is None


def test_public_reports_are_rate_limited_per_client_address(client, cases, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "report": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    lon, lat = lonlat(120, 120)
    body = {"category": "E9901", "lon": lon, "lat": lat}
    codes = [
        client.post(reverse("public-report"), body, content_type="application/json").status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]


def test_a_public_report_outside_the_district_or_of_no_category_is_refused(client, cases):
    lon, lat = lonlat(-500, 100)
    outside = client.post(
        reverse("public-report"),
        {"category": "E9901", "lon": lon, "lat": lat},
        content_type="application/json",
    )
    assert outside.status_code == 422
    lon, lat = lonlat(100, 100)
    unknown = client.post(
        reverse("public-report"),
        {"category": "X", "lon": lon, "lat": lat},
        content_type="application/json",
    )
    assert unknown.status_code == 422 and "category" in unknown.json()
