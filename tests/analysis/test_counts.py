"""Counts for charts: per week or month without holes, per category / source / community /
stage with labels; the same filters, scope and errors as every analysis."""

from datetime import timedelta

import numpy as np
import pytest

from .helpers import START, cases_add

URL = "/api/v1/analysis/counts"
RNG = np.random.default_rng(17)


def _at(weeks: list[int]) -> list:
    return [START + timedelta(weeks=w, hours=3) for w in weeks]


@pytest.mark.django_db
def test_weeks_listed_without_holes(lattice, client_for):
    weeks = [0, 0, 0, 1, 4, 4]  # nothing in weeks 2 and 3
    cases_add(lattice, RNG.uniform(1, 999, (6, 2)), reported_at=_at(weeks))
    body = client_for("planner").get(URL, {"by": "week"}).json()
    assert body["total"] == 6
    assert [r["count"] for r in body["rows"]] == [3, 1, 0, 0, 2]
    assert body["rows"][0]["period"] == "2026-01-05"  # the Monday of START's week
    assert body["rows"][-1]["period"] == "2026-02-02"
    months = client_for("evaluator").get(URL, {"by": "month"}).json()
    assert months["rows"] == [
        {"period": "2026-01-01", "count": 4},
        {"period": "2026-02-01", "count": 2},
    ]


@pytest.mark.django_db
def test_by_category_source_community_stage(lattice, client_for):
    cases_add(lattice, RNG.uniform(1, 999, (5, 2)))
    cases_add(lattice, RNG.uniform(1, 999, (2, 2)), category=lattice["litter"], source="hotline")
    client = client_for("planner")
    categories = client.get(URL, {"by": "category"}).json()["rows"]
    assert categories == [
        {"key": "E9801", "label": "测试占道", "count": 5},
        {"key": "E9802", "label": "测试垃圾", "count": 2},
    ]
    sources = client.get(URL, {"by": "source"}).json()["rows"]
    assert [(r["key"], r["count"]) for r in sources] == [("inspector", 5), ("hotline", 2)]
    assert sources[1]["label"]  # the source's display name
    communities = client.get(URL, {"by": "community"}).json()["rows"]
    assert sum(r["count"] for r in communities) == 7
    assert {r["label"] for r in communities} <= {"西社区", "东社区"}
    filtered = client.get(URL, {"by": "stage", "category": "E9802"}).json()
    assert filtered["total"] == 2 and filtered["rows"][0]["key"] == "closed"


@pytest.mark.django_db
def test_scope_and_errors(lattice, client_for):
    cases_add(lattice, RNG.uniform(1, 999, (40, 2)))
    lead = client_for("community_lead").get(URL, {"by": "community"}).json()
    assert [r["label"] for r in lead["rows"]] == ["西社区"]
    client = client_for("planner")
    assert "by" in client.get(URL, {"by": "hour"}).json()
    assert client.get(URL, {"by": "week", "source": "public"}).status_code == 400
    assert client_for("dispatcher").get(URL).status_code == 403
