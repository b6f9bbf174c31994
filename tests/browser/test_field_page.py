"""The field page on a phone (360 px): tasks nearest first, arrived, feedback, handled with a
retried upload, a patrol report, a fix on the spot, and a new task arriving live."""

import pytest

from cases.models import Case
from tests.cases.test_field import dispatched
from tests.cases.test_loop import world as world
from tests.factories import lonlat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser):
    lon, lat = lonlat(48, 48)
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        locale="zh-CN",
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 8},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def sign_in(page, server, user) -> None:
    """Signed in, the home page sends a team member to the field page."""
    server.sign_in(page.context, user)
    page.goto(f"{server.url}/")
    page.wait_for_url("**/field/")


def photo(tmp_path, name="photo.jpg"):
    from PIL import Image

    path = tmp_path / name
    Image.new("RGB", (320, 240), (30, 120, 60)).save(path, format="JPEG")
    return str(path)


def test_a_team_member_works_a_case_from_the_phone(phone, asgi_server, world, client, tmp_path):
    page = phone
    near = dispatched(client, world, x=50, y=50)
    far = dispatched(client, world, x=150, y=260)
    sign_in(page, asgi_server, world["member"])
    cards = page.get_by_test_id("task")
    cards.first.wait_for()
    page.wait_for_function("document.querySelector('[data-testid=gps]').textContent.includes('±')")
    # Once the phone knows where it is: nearest first, with the distance.
    page.wait_for_function(
        f"document.querySelector('[data-testid=task]').dataset.case === '{near.pk}'"
        " && document.querySelector('[data-testid=task] .meta').textContent.includes(' m')"
    )
    assert cards.count() == 2
    first = cards.first
    assert near.number in first.inner_text() and " m" in first.inner_text()
    assert first.locator("a").get_attribute("href").startswith("geo:")
    # The page fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    first.locator("[data-step=arrive]").click()
    page.get_by_test_id("toast").wait_for()
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=task] [data-step]')]"
        ".some((b) => b.dataset.step === 'handle')"
    )
    near.refresh_from_db()
    assert near.stage == "on_scene"

    # Handled with a photo: the first upload fails on the way, the form keeps the photo and a
    # second press sends it.
    failures = {"left": 1}

    def flaky(route):
        if failures["left"]:
            failures["left"] -= 1
            route.abort()
        else:
            route.continue_()

    page.route("**/api/v1/cases/*/handle", flaky)
    page.locator(f"[data-case='{near.pk}'] [data-step=handle]").click()
    page.get_by_test_id("step-files").set_input_files(photo(tmp_path))
    page.get_by_test_id("step-note").fill("已清理")
    page.get_by_test_id("step-submit").click()
    message = page.get_by_test_id("step-message")
    page.wait_for_function(
        "document.querySelector('[data-testid=step-message]').textContent.length > 5"
        " && !document.querySelector('[data-testid=step-message]').textContent.includes('…')"
    )
    assert page.get_by_test_id("step-dialog").is_visible()
    assert page.evaluate("document.querySelector('[data-testid=step-files]').files.length") == 1, (
        message.inner_text()
    )
    page.get_by_test_id("step-submit").click()
    page.get_by_test_id("step-dialog").wait_for(state="hidden")
    near.refresh_from_db()
    assert near.stage == "handled" and near.evidence.filter(phase="after").count() == 1

    # Far from the other case: arrival needs a reason.
    page.locator(f"[data-case='{far.pk}'] [data-step=arrive]").click()
    page.get_by_test_id("step-override").wait_for()
    page.get_by_test_id("step-override").fill("GPS 漂移，已在现场")
    page.get_by_test_id("step-submit").click()
    page.get_by_test_id("step-dialog").wait_for(state="hidden")
    far.refresh_from_db()
    assert far.stage == "on_scene"
    page.screenshot(path=str(tmp_path / "field.png"))
    assert page.js_errors == []


def test_a_patrol_report_and_a_fix_on_the_spot(phone, asgi_server, world, tmp_path):
    page = phone
    sign_in(page, asgi_server, world["member"])
    page.get_by_test_id("report-category").select_option("E9901")
    page.get_by_test_id("report-files").set_input_files(photo(tmp_path))
    page.get_by_test_id("report-submit").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=report-message]').classList.contains('ok')"
    )
    reported = Case.objects.get(source="inspector")
    assert reported.number in page.get_by_test_id("report-message").inner_text()
    assert reported.evidence.count() == 1

    page.get_by_test_id("report-category").select_option("E9901")
    page.get_by_test_id("self-disposed").check()
    page.get_by_test_id("report-submit").click()
    assert "before" in page.get_by_test_id("report-message").inner_text() or (
        "前" in page.get_by_test_id("report-message").inner_text()
    )
    page.get_by_test_id("report-files").set_input_files(photo(tmp_path, "before.jpg"))
    page.get_by_test_id("report-after").set_input_files(photo(tmp_path, "after.jpg"))
    page.get_by_test_id("report-submit").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=report-message]').classList.contains('ok')"
    )
    fixed = Case.objects.get(source="self")
    assert fixed.stage == "handled" and fixed.evidence.count() == 2
    assert page.js_errors == []


def test_a_new_task_arrives_without_a_reload(phone, asgi_server, world, client):
    page = phone
    sign_in(page, asgi_server, world["member"])
    page.get_by_test_id("no-tasks").wait_for()
    page.wait_for_function("window.fieldPage && window.fieldPage.connected", timeout=20_000)
    case = dispatched(client, world, x=60, y=60)
    page.get_by_test_id("toast").wait_for(timeout=10_000)
    page.locator(f"[data-case='{case.pk}']").wait_for(timeout=10_000)
    assert case.number in page.get_by_test_id("toast").inner_text()
