"""The demo district's year of closed cases (gridmap/demo/history.py): loaded with the archive
importer, and Gi* finds the hotspots planted in it — the markets, schools and construction
sites — with the trends planted too (a relocated market diminishing, a site starting mid-year
intensifying, one starting in the last weeks new).

The demo and its history are loaded once for the module inside a transaction that is rolled
back at the end (the case event log is append-only: the cases could not be deleted).
"""

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction

from cases.models import Case
from gridmap.demo.history import history_load
from gridmap.demo.loader import demo_load
from gridmap.models import ConstructionSite, PointOfInterest, UnitGrid, User

from .helpers import english_client

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


@pytest.fixture(scope="module")
def demo_year(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            demo_load(directory=FIXTURES / "geo")
            yield history_load(FIXTURES / "history")
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def planner(demo_year):
    client = english_client()
    client.force_authenticate(User.objects.get(username="planner"))
    return client


def _grid_of(geom) -> str:
    return UnitGrid.objects.get(geom__contains=geom).code


@pytest.mark.django_db
def test_a_year_of_closed_cases(demo_year):
    assert demo_year.imported > 15_000 and not demo_year.bad
    cases = Case.objects.filter(historical=True)
    assert cases.count() == demo_year.imported
    assert set(cases.values_list("stage", flat=True).distinct()) == {"closed"}
    first, last = cases.order_by("reported_at").first(), cases.order_by("reported_at").last()
    assert (last.reported_at - first.reported_at).days >= 360
    assert cases.filter(grid__isnull=True).count() == 0
    # Loading again adds nothing.
    assert history_load(FIXTURES / "history").imported == 0


@pytest.mark.django_db
def test_load_demo_with_history_reports_it(demo_year):
    out = io.StringIO()
    call_command("load_demo", history=FIXTURES / "history", stdout=out)
    assert f"{demo_year.imported:,} already imported" in out.getvalue()
    broken = io.StringIO()
    with pytest.raises(CommandError, match="demo history was not loaded"):
        call_command("load_demo", history=FIXTURES / "no-such-folder", stdout=broken)


@pytest.mark.django_db
def test_gi_star_finds_the_planted_hotspots_and_their_trends(planner):
    response = planner.get("/api/v1/analysis/hotspots")
    assert response.status_code == 200
    props = {f["properties"]["cell"]: f["properties"] for f in response.json()["features"]}
    markets = PointOfInterest.objects.filter(kind="market").order_by("code")
    schools = PointOfInterest.objects.filter(kind="school").order_by("code")
    sites = ConstructionSite.objects.order_by("code")
    for poi in markets:
        assert props[_grid_of(poi.geom)]["class"] == "hot_99", poi.name
    for poi in schools:
        assert props[_grid_of(poi.geom)]["bin"] >= 1, poi.name
    for site in sites:
        assert props[_grid_of(site.geom.centroid)]["bin"] >= 2, site.name
    labels = [props[_grid_of(p.geom)]["label"] for p in markets]
    assert labels == ["diminishing", "persistent", "persistent", "persistent"]
    assert [props[_grid_of(s.geom.centroid)]["label"] for s in sites] == [
        "persistent",
        "intensifying",
        "new",
    ]
    # Far fewer hotspots than cells: the background is not hot.
    hot = sum(1 for p in props.values() if p["bin"] > 0)
    assert 20 < hot < 0.15 * len(props)


@pytest.mark.django_db
def test_filters_narrow_the_picture(planner):
    body = planner.get("/api/v1/analysis/heatmap", {"format": "json"}).json()
    assert body["cases"] == Case.objects.count()
    # Street vending (by its Chinese name) in one summer: the markets still stand out, except
    # the one relocated in the spring.
    summer = planner.get(
        "/api/v1/analysis/hotspots",
        {"reported_after": "2026-06-01", "reported_before": "2026-09-01", "category": "占道经营"},
    )
    assert summer.status_code == 200
    body = summer.json()
    assert body["summary"]["filters"]["category"] == ["E0401"]
    local = ZoneInfo(settings.TIME_ZONE)
    vending = Case.objects.filter(
        category__code="E0401",
        reported_at__gte=datetime(2026, 6, 1, tzinfo=local),
        reported_at__lt=datetime(2026, 9, 1, tzinfo=local),
    )
    assert body["summary"]["cases"] == vending.count()
    props = {f["properties"]["cell"]: f["properties"] for f in body["features"]}
    markets = list(PointOfInterest.objects.filter(kind="market").order_by("code"))
    assert props[_grid_of(markets[0].geom)]["bin"] <= 0
    for poi in markets[1:]:
        assert props[_grid_of(poi.geom)]["bin"] == 3, poi.name
