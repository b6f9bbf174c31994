"""The whole loop across the pages, each person in their own browser, against the platform
served by 2 ASGI worker processes: a citizen reports on /report/, the operator files it and the
dispatcher dispatches it on /console/, the team marks it arrived and handled with a photo on
/field/ (a phone), the patrol inspector verifies it there, the shift leader closes it on the
console, and the citizen's status page shows it closed with the photos.

With GRIDMAP_DOCS_SCREENSHOTS=1 the README's pictures of the console and the field page are
refreshed (docs/console.png, docs/field.png).
"""

import os
import shutil
from pathlib import Path

import pytest

from cases.models import Case, Category
from tests.browser.test_public_report import district as district
from tests.browser.test_public_report import fill_report, jpeg_bytes
from tests.factories import lonlat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"


def person(browser, server, user=None, *, phone=False, near=None):
    options = {"locale": "zh-CN"}
    if phone:
        options.update(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    else:
        options.update(viewport={"width": 1400, "height": 850})
    if near is not None:
        lon, lat = lonlat(*near)
        options.update(
            geolocation={"longitude": lon, "latitude": lat, "accuracy": 6},
            permissions=["geolocation"],
        )
    context = browser.new_context(**options)
    if user is not None:
        server.sign_in(context, user)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    return page


def shoot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("GRIDMAP_DOCS_SCREENSHOTS") == "1":
        shutil.copy(path, DOCS / f"{name}.png")


def on_console(page, server, case):
    page.goto(f"{server.url}/console/")
    page.wait_for_function("window.gridmap && window.gridmap.console")
    item = page.locator(f"[data-testid=queue-item][data-case='{case.pk}']")
    item.wait_for(timeout=15000)
    item.click()
    page.get_by_test_id("detail-title").wait_for()


def stage_of(case) -> str:
    case.refresh_from_db()
    return case.stage


def wait_stage(page, case, stage, timeout=15):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stage_of(case) == stage:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"case {case.number} is {case.stage}, not {stage}")


def test_a_report_runs_through_every_page_to_closure(browser, asgi_server, district, tmp_path):
    Category.objects.filter(code="E9901").update(department=district["team"].department)

    citizen = person(browser, asgi_server, phone=True)
    fill_report(citizen, asgi_server)
    citizen.get_by_test_id("submit").click()
    citizen.get_by_test_id("tracking-number").wait_for(state="visible")
    tracking = citizen.get_by_test_id("tracking-number").inner_text().strip()
    case = Case.objects.get(tracking=tracking)

    operator = person(browser, asgi_server, district["operator"])
    on_console(operator, asgi_server, case)
    operator.locator("[data-step=file]").click()
    wait_stage(operator, case, "registered")

    dispatcher = person(browser, asgi_server, district["dispatcher"])
    on_console(dispatcher, asgi_server, case)
    dispatcher.get_by_test_id("candidate").first.wait_for(timeout=15000)
    shoot(dispatcher, tmp_path, "console")
    dispatcher.get_by_test_id("candidate").first.locator("button").click()
    wait_stage(dispatcher, case, "dispatched")

    member = person(browser, asgi_server, district["member"], phone=True, near=(122, 118))
    member.goto(f"{asgi_server.url}/field/")
    task = member.locator(f"[data-testid=task][data-case='{case.pk}']")
    task.wait_for(timeout=15000)
    member.wait_for_function(
        "document.querySelector('[data-testid=gps]').textContent.includes('±')"
    )
    task.locator("[data-step=arrive]").click()
    wait_stage(member, case, "on_scene")
    task.locator("[data-step=handle]").wait_for()
    shoot(member, tmp_path, "field")
    task.locator("[data-step=handle]").click()
    member.get_by_test_id("step-files").set_input_files(
        {"name": "清理后.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes((170, 170, 160))}
    )
    member.get_by_test_id("step-note").fill("垃圾已清运")
    member.get_by_test_id("step-submit").click()
    wait_stage(member, case, "handled")

    inspector = person(browser, asgi_server, district["inspector"], phone=True, near=(121, 121))
    inspector.goto(f"{asgi_server.url}/field/")
    check = inspector.locator(f"[data-testid=task][data-case='{case.pk}'] [data-step=verify]")
    check.wait_for(timeout=15000)
    check.click()
    inspector.get_by_test_id("step-submit").click()
    inspector.get_by_test_id("step-dialog").wait_for(state="hidden")
    case.refresh_from_db()
    assert case.verified_at is not None

    shift = person(browser, asgi_server, district["shift"])
    on_console(shift, asgi_server, case)
    shift.locator("[data-step=close]").click()
    wait_stage(shift, case, "closed")

    citizen.goto(f"{asgi_server.url}/report/{tracking}/")
    assert citizen.get_by_test_id("stage").get_attribute("data-stage") == "closed"
    citizen.get_by_test_id("photo-before").wait_for()
    citizen.get_by_test_id("photo-after").wait_for()
    for page in (citizen, operator, dispatcher, member, inspector, shift):
        assert page.js_errors == []
        page.context.close()
