"""The admin's import page in a browser: upload, read the report and the map, confirm."""

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Polygon

from gridmap.models import Road, User
from tests.browser.conftest import login
from tests.factories import ORIGIN, UserFactory, small_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_user():
    small_district()
    return UserFactory(username="boss", role=User.Role.ADMIN, is_staff=True, is_superuser=True)


def roads_file(tmp_path, *, broken=False):
    ox, oy = ORIGIN
    rows = [
        {
            "code": "R1",
            "name": "经开第一大街",
            "geometry": LineString([(ox, oy + 50), (ox + 400, oy + 50)]),
        },
        {
            "code": "R2",
            "name": "经开第二大街",
            "geometry": LineString([(ox + 50, oy), (ox + 50, oy + 300)]),
        },
    ]
    if broken:
        rows.append(
            {
                "code": "R3",
                "name": "坏路",
                "geometry": Polygon([(ox, oy), (ox + 10, oy + 10), (ox + 10, oy), (ox, oy + 10)]),
            }
        )
    path = tmp_path / "roads.geojson"
    gpd.GeoDataFrame(rows, crs=4547).to_crs(4326).to_file(path, engine="pyogrio")
    return path


def test_an_administrator_checks_then_imports_a_file(
    page, live_server, admin_user, tmp_path, screenshot
):
    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_test_id("admin-import-link").click()
    page.select_option("select[name=level]", "road")
    page.set_input_files("input[name=file]", str(roads_file(tmp_path)))
    page.click("input[name=check]")
    summary = page.get_by_test_id("import-summary").inner_text()
    assert "2 feature(s); 2 new" in summary and "dry run" in summary
    page.wait_for_function(
        "window.importPreview && window.importPreview.layer.getLayers().length == 2"
    )
    screenshot("admin-import-check")
    assert not Road.objects.exists()
    page.get_by_test_id("import-confirm").click()
    assert "imported" in page.get_by_test_id("import-summary").inner_text()
    assert sorted(Road.objects.values_list("code", flat=True)) == ["R1", "R2"]
    assert page.js_errors == []


def test_a_file_with_errors_shows_them_and_offers_no_import(
    page, live_server, admin_user, tmp_path
):
    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/admin/import/")
    page.select_option("select[name=level]", "road")
    page.set_input_files("input[name=file]", str(roads_file(tmp_path, broken=True)))
    page.click("input[name=check]")
    report = page.get_by_test_id("import-report").inner_text()
    assert "feature 2" in report and "expected a line" in report
    assert "NOT imported" in page.get_by_test_id("import-summary").inner_text()
    assert page.get_by_test_id("import-confirm").count() == 0
    assert not Road.objects.exists()


def test_the_import_page_is_for_administrators_only(client, admin_user):
    dispatcher = UserFactory(username="disp", role=User.Role.DISPATCHER, is_staff=True)
    client.force_login(dispatcher)
    assert client.get("/admin/import/").status_code == 403
    client.logout()
    assert client.get("/admin/import/").status_code == 302
