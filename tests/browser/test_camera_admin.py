"""A camera's admin page in a browser: placed on a map, with its viewshed drawn read-only."""

import pytest

from gridmap.models import User
from tests.browser.test_video_wall import login_to
from tests.cameras.test_seeing import camera
from tests.factories import UserFactory, rect, small_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cameras():
    small_district()
    UserFactory(username="boss", role=User.Role.ADMIN, is_staff=True, is_superuser=True)
    # V1 at (100, 100) looking north-east: a hand-drawn viewshed; V2 not computed yet.
    seen = camera("V1", 100, 100, rect(100, 100, 160, 160), heading_deg=45, fov_deg=90)
    waiting = camera("V2", 300, 100, None, heading_deg=0, range_m=50)
    return seen, waiting


def test_the_change_page_shows_the_position_and_the_viewshed_on_maps(
    page, live_server, cameras, screenshot
):
    seen, waiting = cameras
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    login_to(page, live_server, "boss", f"/admin/cameras/camera/{seen.pk}/change/")
    view = page.get_by_test_id("viewshed-map")
    view.wait_for()
    page.wait_for_function(
        "document.querySelector('.viewshed-map').viewshedLayers?.getLayers().length === 3"
    )
    # The viewshed is drawn as a filled polygon, the sector dashed, and the camera as a dot.
    assert page.locator(".viewshed-map path.viewshed-polygon").count() == 1
    assert page.locator(".viewshed-map path[stroke-dasharray]").count() >= 1
    box = view.bounding_box()
    assert box["width"] > 300 and box["height"] > 300
    # The position is edited on django-leaflet's map widget (a marker on it).
    page.wait_for_selector("#id_geom-map .leaflet-marker-icon, #id_geom_map .leaflet-marker-icon")
    view.scroll_into_view_if_needed()
    screenshot("camera-admin")

    page.goto(f"{live_server.url}/admin/cameras/camera/{waiting.pk}/change/")
    page.get_by_test_id("viewshed-map").wait_for()
    page.wait_for_selector(".viewshed-note")
    assert page.locator(".viewshed-map path.viewshed-polygon").count() == 0
    assert page.locator(".viewshed-map path[stroke-dasharray]").count() >= 1
    outside = [u for u in requests if not u.startswith((live_server.url, "data:"))]
    assert not outside
    assert not page.js_errors, page.js_errors
