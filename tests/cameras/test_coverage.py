"""Coverage and blind spots (cameras/coverage.py), their API and the coverage report.

The district is tests/factories.py's small one (400 m x 300 m: community 西社区 x 0..200 and
东社区 x 200..400, each with a north and a south grid of 200 m x 150 m = 30,000 m²; the road
runs west to east along y = 150). Cameras are PTZ domes, so their viewshed is a disc:

    300 +--------------------+--------------------+
        |      (P1) r 50     |                    |   P1 at (100, 225): inside c1_north only
    150 +====================+=====(P2) r 40======+   road; P2 at (300, 150) covers 80 m of it
        |                    |                    |   and half a disc of each east grid
      0 +--------------------+--------------------+
        0                   200                  400
"""

import csv
import io
import math

import numpy as np
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from cameras.coverage import coverage_compute, coverage_current, covered_parts
from cameras.models import Camera
from gridmap.models import User
from tests.factories import RoadFactory, UserFactory, lonlat, point, small_district

DISC_50 = math.pi * 50**2
HALF_DISC_40 = math.pi * 40**2 / 2
GRID_M2 = 200 * 150


def dome(code: str, x: float, y: float, range_m: float) -> Camera:
    return Camera.objects.create(code=code, geom=point(x, y), ptz=True, range_m=range_m)


@pytest.fixture
def district(db):
    area = small_district()
    area["road"] = RoadFactory(code="R1", name="明湖路")
    dome("P1", 100, 225, 50)
    dome("P2", 300, 150, 40)
    call_command("compute_viewsheds", stdout=io.StringIO())
    return area


def by_code(targets) -> dict:
    return {t.code: t for t in targets}


def test_coverage_of_grids_communities_and_roads(district):
    coverage = coverage_compute()
    grids = by_code(coverage.grids)
    assert grids["410199001001001"].fraction == pytest.approx(DISC_50 / GRID_M2, rel=0.002)
    assert grids["410199001001002"].fraction == 0
    assert grids["410199001002001"].fraction == pytest.approx(HALF_DISC_40 / GRID_M2, rel=0.002)
    assert grids["410199001002002"].fraction == pytest.approx(HALF_DISC_40 / GRID_M2, rel=0.002)
    communities = by_code(coverage.communities)
    assert communities["410199001001"].covered == pytest.approx(DISC_50, rel=0.002)
    assert communities["410199001002"].fraction == pytest.approx(
        2 * HALF_DISC_40 / (2 * GRID_M2), rel=0.002
    )
    road = by_code(coverage.roads)["R1"]
    assert road.size == pytest.approx(400)
    assert road.covered == pytest.approx(80, abs=0.01)
    assert road.fraction == pytest.approx(0.2, abs=1e-4)


def test_overlapping_cameras_count_once(district):
    dome("P1b", 110, 225, 50)  # most of its disc overlaps P1's
    call_command("compute_viewsheds", stdout=io.StringIO())
    grid = by_code(coverage_compute().grids)["410199001001001"]
    # Two discs of radius 50 with centres 10 m apart: union = 2·A − lens.
    d, r = 10, 50
    lens = 2 * r * r * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r * r - d * d)
    assert grid.covered == pytest.approx(2 * DISC_50 - lens, rel=0.002)


def test_blind_spots_are_the_grid_area_no_viewshed_covers(district):
    grid = by_code(coverage_compute().grids)["410199001001001"]
    assert grid.blind_m2 == pytest.approx(GRID_M2 - DISC_50, rel=0.001)
    assert grid.blind_geojson.startswith('{"type":"Polygon"')


def test_coverage_follows_a_recomputed_viewshed(district):
    before = by_code(coverage_current().grids)["410199001001002"]
    assert before.fraction == 0
    dome("P3", 100, 75, 30)
    call_command("compute_viewsheds", "--code", "P3", stdout=io.StringIO())
    after = by_code(coverage_current().grids)["410199001001002"]
    assert after.covered == pytest.approx(math.pi * 30**2, rel=0.002)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 300), st.floats(0, 300), st.floats(5, 80)), max_size=15),
    st.lists(st.tuples(st.floats(0, 250), st.floats(0, 250), st.floats(5, 100)), min_size=1),
)
def test_covered_parts_equal_the_target_within_the_union_of_viewsheds(discs, squares):
    sheds = np.array([shapely.Point(x, y).buffer(r) for x, y, r in discs], dtype=object)
    targets = np.array([shapely.box(x, y, x + d, y + d) for x, y, d in squares], dtype=object)
    covered = covered_parts(targets, sheds, shapely.STRtree(sheds))
    union = shapely.union_all(sheds) if len(sheds) else shapely.Polygon()
    for target, part in zip(targets, covered, strict=True):
        expected = target.intersection(union).area
        assert part.area == pytest.approx(expected, rel=1e-6, abs=1e-6)
        assert part.area <= target.area + 1e-6


# --- API --------------------------------------------------------------------------------------


def login(client, role: str, **scope) -> User:
    user = UserFactory(username=f"u-{role}-{len(scope)}", role=role, **scope)
    client.force_login(user)
    return user


def test_the_coverage_api_gives_geojson_by_level(client, district):
    login(client, User.Role.COMMANDER)
    body = client.get(reverse("coverage")).json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 4
    feature = next(f for f in body["features"] if f["properties"]["code"] == "410199001001001")
    assert feature["geometry"]["type"] == "MultiPolygon"
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 113 < lon < 114.5 and 34 < lat < 35, "WGS-84 degrees"
    assert feature["properties"]["coverage"] == pytest.approx(DISC_50 / GRID_M2, abs=0.001)
    roads = client.get(reverse("coverage"), {"level": "road"}).json()["features"]
    assert [(f["properties"]["code"], f["properties"]["coverage"]) for f in roads] == [("R1", 0.2)]
    communities = client.get(reverse("coverage"), {"level": "community"}).json()["features"]
    assert {f["properties"]["name"] for f in communities} == {"西社区", "东社区"}


def test_a_community_lead_sees_only_their_community(client, district):
    login(client, User.Role.COMMUNITY_LEAD, community=district["c2"])
    grids = client.get(reverse("coverage")).json()["features"]
    assert {f["properties"]["code"] for f in grids} == {"410199001002001", "410199001002002"}
    communities = client.get(reverse("coverage"), {"level": "community"}).json()["features"]
    assert [f["properties"]["name"] for f in communities] == ["东社区"]
    blind = client.get(reverse("blind-spots")).json()["features"]
    assert {f["properties"]["code"] for f in blind} == {"410199001002001", "410199001002002"}


def test_roles_without_coverage_get_403(client, district):
    for role in (User.Role.FIELD_MEMBER, User.Role.DEVICE, User.Role.DEPARTMENT_HEAD):
        login(client, role)
        for url in (reverse("coverage"), reverse("blind-spots")):
            response = client.get(url)
            assert response.status_code == 403, (role, url)
    client.logout()
    assert client.get(reverse("coverage")).status_code == 401


def test_bad_level_or_bbox_is_a_400_naming_it(client, district):
    login(client, User.Role.PLANNER)
    response = client.get(reverse("coverage"), {"level": "street"})
    assert response.status_code == 400 and "level" in response.json()
    response = client.get(reverse("blind-spots"), {"bbox": "1,2,3"})
    assert response.status_code == 400 and "bbox" in response.json()


def test_blind_spots_by_bbox(client, district):
    login(client, User.Role.DISPATCHER)
    everything = client.get(reverse("blind-spots")).json()["features"]
    assert len(everything) == 4, "no grid is wholly covered"
    west, south = lonlat(210, 10)
    east, north = lonlat(390, 140)
    inside = client.get(reverse("blind-spots"), {"bbox": f"{west},{south},{east},{north}"})
    assert [f["properties"]["code"] for f in inside.json()["features"]] == ["410199001002002"]
    feature = inside.json()["features"][0]
    assert feature["properties"]["blind_m2"] == pytest.approx(GRID_M2 - HALF_DISC_40, abs=5)


# --- Report ---------------------------------------------------------------------------------------


def test_coverage_report_csv_xlsx_and_html(district, tmp_path):
    call_command("coverage_report", "--out", str(tmp_path / "r.csv"), stdout=io.StringIO())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text("utf-8-sig"))))
    assert {r["level"] for r in rows} == {"grid", "community", "road"}
    road = next(r for r in rows if r["level"] == "road")
    assert (road["code"], road["unit"], float(road["coverage_pct"])) == ("R1", "m", 20.0)

    out = io.StringIO()
    call_command("coverage_report", "--format", "xlsx", "--out", str(tmp_path / "r"), stdout=out)
    assert "4 grid(s)" in out.getvalue()
    book = load_workbook(io.BytesIO((tmp_path / "r").read_bytes()))
    assert len(book.sheetnames) == 4
    assert book.worksheets[1].max_row == 5, "a header and four grids"

    call_command("coverage_report", "--out", str(tmp_path / "r.html"), stdout=io.StringIO())
    text = (tmp_path / "r.html").read_text()
    assert "L.map(" in text and "<script src" not in text and "410199001001001" in text


def test_coverage_report_refuses_an_unknown_format_or_directory(district, tmp_path):
    with pytest.raises(CommandError, match="cannot tell the format"):
        call_command("coverage_report", "--out", str(tmp_path / "r.pdf"))
    with pytest.raises(CommandError, match="no such directory"):
        call_command("coverage_report", "--out", str(tmp_path / "nope" / "r.csv"))
    assert list(tmp_path.iterdir()) == []


def test_the_report_download_is_scoped(client, district):
    login(client, User.Role.COMMUNITY_LEAD, community=district["c1"])
    response = client.get(reverse("coverage-report", args=["csv"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r["code"] for r in rows if r["level"] == "grid"} == {
        "410199001001001",
        "410199001001002",
    }
    response = client.get(reverse("coverage-report", args=["pdf"]))
    assert response.status_code == 400 and "pdf" in response.json()["format"][0]
    login(client, User.Role.INSPECTOR)
    assert client.get(reverse("coverage-report", args=["csv"])).status_code == 403


@pytest.mark.browser
def test_the_html_report_draws_the_map_offline(district, tmp_path, page, screenshot):
    path = tmp_path / "coverage.html"
    call_command("coverage_report", "--out", str(path), stdout=io.StringIO())
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector("path.leaflet-interactive")
    # 4 grids, 4 blind spots, 2 viewsheds and 2 camera dots.
    assert page.locator("path.leaflet-interactive").count() == 12
    assert not page.js_errors
    assert all(url.startswith("file:") for url in requests), requests
    screenshot("coverage-report")
