"""The planner page in a real browser: a planner lands on it, previews the heatmap and the
hotspots with a legend, sees the charts, downloads a heatmap, and reads the reason of a refusal;
nothing is fetched from outside the platform."""

from pathlib import Path

import numpy as np
import pytest

from gridmap.models import User
from tests.browser.conftest import ARTIFACTS, login
from tests.factories import UserFactory

from .helpers import CELL, SIDE, cases_add, lattice_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RNG = np.random.default_rng(21)


@pytest.fixture
def data():
    lattice = lattice_district()
    block = RNG.uniform((105, 705), (395, 895), size=(300, 2))
    noise = RNG.uniform(1, SIDE * CELL - 1, size=(400, 2))
    cases_add(lattice, np.vstack([block, noise]))
    UserFactory(username="planner_li", role=User.Role.PLANNER)
    # Not a dispatcher: they land on the console, whose live stream never ends in the test server.
    UserFactory(username="head_wang", role=User.Role.DEPARTMENT_HEAD)
    return lattice


def test_planner_previews_downloads_and_reads_refusals(page, live_server, data):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    login(page, live_server, "planner_li")
    assert page.url.endswith("/planner/")
    assert page.locator('[data-testid=nav] [data-page="planner"]').count() == 1
    page.wait_for_selector("#chart-week rect", state="attached")
    page.wait_for_selector("#chart-category .bar")
    assert "测试占道" in page.inner_text("#chart-category")

    page.click("[data-testid=show-heatmap]")
    page.wait_for_selector("img.leaflet-image-layer", state="attached")
    assert "700" in page.inner_text("[data-testid=legend]")  # the number of cases

    page.click("[data-testid=show-hotspots]")
    page.wait_for_function("window.planner.state.hotspots !== null")
    cells = page.evaluate("window.planner.state.hotspots.getLayers().length")
    assert cells == SIDE * SIDE
    legend = page.inner_text("[data-testid=legend]")
    assert "Gi*" in legend and "99" in legend

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planner-page.png"))

    with page.expect_download() as info:
        page.click("[data-testid=download-png]")
    saved = Path(info.value.path())
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.fill("input[name=bandwidth_m]", "0")
    page.click("[data-testid=show-heatmap]")
    page.wait_for_function("document.querySelector('[data-testid=message]').textContent.length > 0")
    assert "bandwidth_m" in page.inner_text("[data-testid=message]")
    assert page.js_errors == []
    outside = [u for u in requests if not u.startswith((live_server.url, "data:", "blob:"))]
    assert outside == []
    page.wait_for_load_state("networkidle")


def test_other_roles_may_not_open_it(page, live_server, data):
    login(page, live_server, "head_wang")
    response = page.goto(f"{live_server.url}/planner/")
    assert response.status == 403
    # Let the page's style sheets finish: a response cut off by closing the browser leaves the
    # live server's thread waiting, and the test process with it.
    page.wait_for_load_state("networkidle")
