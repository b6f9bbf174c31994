"""The heatmap's HTML map in Debian's chromium (Playwright), opened from a file as a planner
would open a download: it draws the overlay and the communities, and asks the network for
nothing (every request is the page itself or a ``data:`` URL)."""

import numpy as np
import pytest

from tests.browser.conftest import ARTIFACTS

from .helpers import CELL, SIDE, cases_add

RNG = np.random.default_rng(13)


@pytest.mark.django_db
def test_heatmap_html_works_offline(lattice, client_for, browser, tmp_path):
    cases_add(lattice, RNG.normal((300, 600), 40, size=(300, 2)).clip(1, SIDE * CELL - 1))
    response = client_for("planner").get("/api/v1/analysis/heatmap", {"format": "html"})
    assert response.status_code == 200
    path = tmp_path / "heatmap.html"
    path.write_bytes(response.content)

    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri())
    page.wait_for_selector("img.leaflet-image-layer", state="attached", timeout=10_000)
    page.wait_for_selector("path.leaflet-interactive", state="attached", timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "analysis-heatmap-offline.png"))
    overlay = page.eval_on_selector("img.leaflet-image-layer", "img => img.naturalWidth")
    outlines = page.eval_on_selector_all("path.leaflet-interactive", "paths => paths.length")
    context.close()

    assert errors == []
    assert overlay > 0, "the overlay image decoded"
    assert outlines == 2, "the two communities are drawn"
    outside = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert outside == [], f"the page fetched {outside}"
