"""The district map page in a real browser: layers drawn, a grid clicked, no CDN."""

import pytest

from gridmap.models import Building, User
from tests.browser.conftest import login
from tests.factories import RoadFactory, UserFactory, line, rect, small_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def district():
    area = small_district()
    RoadFactory(
        code="R1", name="经开第一大街", road_class="primary", geom=line((-50, 150), (450, 150))
    )
    Building.objects.create(
        code="B1", use="residential", floors=6, height_m=18, geom=rect(20, 20, 60, 60)
    )
    UserFactory(username="commander", role=User.Role.COMMANDER, first_name="王指挥")
    return area


def drawn(page, name: str) -> int:
    return page.evaluate(f"window.gridmap.layers['{name}'].getLayers().length")


def test_the_map_draws_the_district_layers_and_a_grid_click_names_it(
    page, live_server, district, screenshot
):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    login(page, live_server, "commander", next_path="/map/")
    assert page.url.endswith("/map/")
    page.wait_for_function("window.gridmap && window.gridmap.layers.grids.getLayers().length > 0")
    page.wait_for_function("window.gridmap.layers.teams.getLayers().length > 0")
    assert drawn(page, "grids") == 4
    assert drawn(page, "communities") == 2
    assert drawn(page, "roads") == 1
    assert drawn(page, "district") == 1
    assert drawn(page, "teams") == 1
    assert page.get_by_test_id("legend").is_visible()
    assert "王指挥" in page.get_by_test_id("current-user").inner_text()

    # Click inside C2's northern grid: the popup names its code, community and zones.
    point = page.evaluate(
        """() => {
            const grid = window.gridmap.layers.grids.getLayers()
                .find((l) => l.feature.properties.code === "410199001002001");
            const p = window.gridmap.map.latLngToContainerPoint(grid.getBounds().getCenter());
            const box = document.getElementById("map").getBoundingClientRect();
            return {x: p.x + box.left, y: p.y + box.top};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    popup = page.get_by_test_id("grid-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert "410199001002001" in text
    assert "东社区" in text
    assert "执法一中队辖区" in text
    page.wait_for_timeout(300)  # let the popup fade in before the picture
    screenshot("map-page")

    outside = [
        u for u in requests if not u.startswith(live_server.url) and not u.startswith("data:")
    ]
    assert outside == [], f"the page fetched from outside: {outside}"
    assert page.js_errors == []


def test_the_map_page_needs_a_login(page, live_server, district):
    page.goto(f"{live_server.url}/map/")
    assert "/accounts/login/" in page.url
