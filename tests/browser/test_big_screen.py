"""The big screen at 1920 x 1080: today's figures shown large (text >= 24 px, key figures
>= 48 px), the map with the open cases, and the figures follow a new case without a reload."""

import pytest

from tests.cases.test_loop import new_case
from tests.cases.test_loop import world as world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_big_screen_reads_from_across_the_room(browser, asgi_server, world, tmp_path):
    new_case(world, minutes_ago=30)
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    asgi_server.sign_in(context, world["commander"])
    page = context.new_page()
    page.goto(f"{asgi_server.url}/console/screen/")
    page.wait_for_function("document.querySelector('[data-testid=fig-new]').textContent === '1'")
    assert page.get_by_test_id("fig-overdue").inner_text() == "1"
    # On the map, the overdue case in red.
    page.wait_for_function("window.gridmap.screen.cases.getLayers().length === 1")
    assert (
        page.evaluate("window.gridmap.screen.cases.getLayers()[0].options.fillColor") == "#ff6b6b"
    )
    sizes = page.evaluate(
        """() => {
            const px = (el) => parseFloat(getComputedStyle(el).fontSize);
            const text = [...document.querySelectorAll('.screen *')]
                .filter((el) => el.childElementCount === 0 && el.textContent.trim()
                        && el.offsetParent !== null && !el.closest('#map'));
            return {
                smallest: Math.min(...text.map(px)),
                keys: [...document.querySelectorAll('.figure .key')].map(px),
            };
        }"""
    )
    assert sizes["smallest"] >= 24, sizes
    assert min(sizes["keys"]) >= 48, sizes
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    page.screenshot(path=str(tmp_path / "big-screen.png"))

    new_case(world, x=300, y=100)  # announced on the console stream: the figures follow
    page.wait_for_function(
        "document.querySelector('[data-testid=fig-new]').textContent === '2'", timeout=10000
    )
    context.close()
