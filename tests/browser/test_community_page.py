"""The community page in a browser: the lead's own cases on the map and in the list, overdue
first, a case's history on a click, the cameras of the community."""

import pytest

from cameras.models import Camera
from tests.browser.conftest import login
from tests.cases.test_loop import new_case
from tests.cases.test_loop import world as world
from tests.factories import point, rect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lead_sees_their_cases_overdue_first_and_a_history(
    page, live_server, world, screenshot
):
    # East community (x 200–400): one overdue, one fresh; a west case the lead must not see.
    late = new_case(world, minutes_ago=30, x=300, y=100)
    fresh = new_case(world, x=320, y=220)
    west = new_case(world, x=50, y=50)
    Camera.objects.create(
        code="CAM1",
        name="东社区路口",
        geom=point(300, 150),
        heading_deg=180,
        range_m=60,
        viewshed_geom=rect(280, 90, 320, 150),
    )
    login(page, live_server, "east")
    assert page.url.endswith(f"/community/{world['c2'].code}/")
    page.wait_for_function("document.querySelectorAll('[data-testid=case]').length === 2")
    items = page.get_by_test_id("case")
    assert items.first.get_attribute("data-case") == str(late.pk)
    assert "overdue" in items.first.get_attribute("class")
    assert page.get_by_test_id("overdue-count").inner_text() == "1"
    assert page.locator(f"[data-case='{west.pk}']").count() == 0
    assert page.evaluate("window.gridmap.community.cases.getLayers().length") == 2
    page.wait_for_function("window.gridmap.community.cameras.getLayers().length === 1")

    page.locator(f"[data-case='{fresh.pk}']").click()
    page.get_by_test_id("history").wait_for()
    assert "report" in page.get_by_test_id("history").inner_text()
    screenshot("community")
    assert page.js_errors == []
