"""Who may analyse what: planners, evaluators, commanders over the district; a community lead
within their community only (another community is a 404); other roles 403; nobody logged in
401."""

import numpy as np
import pytest

from .helpers import CELL, SIDE, cases_add, english_client

RNG = np.random.default_rng(3)
ENDPOINTS = [
    ("/api/v1/analysis/heatmap", {"format": "json"}),
    ("/api/v1/analysis/hotspots", {}),
    ("/api/v1/analysis/export", {"format": "csv"}),
]


@pytest.fixture
def cases(lattice):
    return cases_add(lattice, RNG.uniform(1, SIDE * CELL - 1, size=(200, 2)))


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "params"), ENDPOINTS)
@pytest.mark.parametrize("role", ["planner", "evaluator", "commander", "office_head", "admin"])
def test_analysts_may(cases, client_for, url, params, role):
    assert client_for(role).get(url, params).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "params"), ENDPOINTS)
@pytest.mark.parametrize("role", ["dispatcher", "operator", "field_member", "inspector", "device"])
def test_other_roles_may_not(cases, client_for, url, params, role):
    response = client_for(role).get(url, params)
    assert response.status_code == 403
    assert "may not run analyses" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "params"), ENDPOINTS)
def test_not_logged_in(cases, url, params):
    assert english_client().get(url, params).status_code in (401, 403)


@pytest.mark.django_db
def test_community_lead_sees_their_community_only(lattice, cases, client_for):
    west = sum(1 for c in cases if c.community_id == lattice["west"].pk)
    lead = client_for("community_lead")
    heat = lead.get("/api/v1/analysis/heatmap", {"format": "json"}).json()
    assert heat["cases"] == west < len(cases)
    hot = lead.get("/api/v1/analysis/hotspots").json()
    assert hot["summary"]["cells"] == SIDE * SIDE // 2  # the west's grids only
    assert hot["summary"]["cases"] == west
    assert {f["properties"]["cell"][:12] for f in hot["features"]} == {lattice["west"].code}
    own = lead.get("/api/v1/analysis/hotspots", {"community": lattice["west"].code})
    assert own.status_code == 200
    other = lead.get("/api/v1/analysis/hotspots", {"community": lattice["east"].code})
    assert other.status_code == 404
    jobs = lead.post(
        "/api/v1/analysis/jobs",
        {"kind": "export", "params": {"format": "csv", "community": lattice["east"].code}},
        format="json",
    )
    assert jobs.status_code == 404


@pytest.mark.django_db
def test_lead_without_a_community_may_not(lattice, cases, client_for):
    from tests.factories import UserFactory

    user = UserFactory(username="lost_lead", role="community_lead")
    client = english_client()
    client.force_authenticate(user)
    assert client.get("/api/v1/analysis/hotspots").status_code == 403
