"""The public report page on a phone (360 × 740, touch): tap the map, pick a category, attach a
photo, send, read the tracking number, open the status page; a lost answer retried files one
case. Screenshots go to the test's tmp dir; with GRIDMAP_DOCS_SCREENSHOTS=1 the README's
pictures (docs/report.png, docs/report-status.png) are refreshed too.
"""

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from cases.evidence import check_upload
from cases.loop import Step, transition_apply
from cases.models import Case, PublicRating
from gridmap.models import Building, User
from tests.factories import (
    CategoryFactory,
    RoadFactory,
    UserFactory,
    ZoneFactory,
    line,
    lonlat,
    rect,
    small_district,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True}


@pytest.fixture
def district():
    area = small_district()
    RoadFactory(
        code="R1", name="经开第一大街", road_class="primary", geom=line((-50, 150), (450, 150))
    )
    Building.objects.create(
        code="B1", use="residential", floors=6, height_m=18, geom=rect(20, 20, 60, 60)
    )
    for code, major, minor, plain in [
        ("E9901", "市容环境", "暴露垃圾", "垃圾没人清"),
        ("E9902", "市容环境", "占道经营", "路边摆摊"),
        ("E9903", "设施管理", "路灯", "路灯不亮"),
    ]:
        CategoryFactory(code=code, major_name=major, minor_name=minor, public_name=plain)
    people = {
        "operator": UserFactory(username="op", role=User.Role.OPERATOR),
        "dispatcher": UserFactory(username="disp", role=User.Role.DISPATCHER),
        "member": UserFactory(username="mem", role=User.Role.FIELD_MEMBER, team=area["team"]),
        "inspector": UserFactory(username="insp", role=User.Role.INSPECTOR),
        "shift": UserFactory(username="shift", role=User.Role.SHIFT_LEADER),
    }
    ZoneFactory(
        code="PZ1", kind="patrol", geom=rect(0, 0, 400, 300), responsible_user=people["inspector"]
    )
    area.update(people)
    return area


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def jpeg_bytes(colour=(200, 80, 40)) -> bytes:
    """A photo of a garbage heap, as far as the server can tell: a real JPEG."""
    image = Image.new("RGB", (640, 480), (170, 170, 160))
    for x in range(160, 480):
        for y in range(240, 400):
            if (x - 320) ** 2 / 160**2 + (y - 400) ** 2 / 160**2 < 1:
                image.putpixel((x, y), colour)
    data = io.BytesIO()
    image.save(data, format="JPEG", quality=85)
    return data.getvalue()


def shoot(page, tmp_path, name: str, *, full_page: bool = False, docs: bool = False) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if docs and os.environ.get("GRIDMAP_DOCS_SCREENSHOTS") == "1":
        shutil.copy(path, DOCS / f"{name}.png")
    return path


def tap_map_at(page, x: float, y: float) -> None:
    """Tap the map where local point (x, y) of the small district is."""
    lon, lat = lonlat(x, y)
    point = page.evaluate(
        """([lat, lon]) => {
            const p = window.reportPage.map.latLngToContainerPoint([lat, lon]);
            const box = document.getElementById("report-map").getBoundingClientRect();
            return {x: p.x + box.left, y: p.y + box.top};
        }""",
        [lat, lon],
    )
    if page.evaluate("navigator.maxTouchPoints > 0"):
        page.touchscreen.tap(point["x"], point["y"])
    else:
        page.mouse.click(point["x"], point["y"])


def fill_report(page, live_server) -> None:
    page.goto(f"{live_server.url}/report/")
    page.wait_for_function("window.reportPage && window.reportPage.layers.roads.getLayers().length")
    page.get_by_test_id("report-map").scroll_into_view_if_needed()
    tap_map_at(page, 120, 120)
    assert "(" in page.get_by_test_id("location-chosen").inner_text()
    page.get_by_test_id("category").select_option("E9901")
    page.get_by_test_id("description").fill("路口堆了一堆垃圾，三天没人清")
    page.get_by_test_id("photo").set_input_files(
        {"name": "垃圾.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}
    )
    page.get_by_test_id("photo-preview").wait_for(state="visible")
    page.get_by_test_id("contact-email").fill("citizen@example.org")


def close_the_case(district, case: Case) -> None:
    lon, lat = lonlat(121, 121)
    after = io.BytesIO(jpeg_bytes(colour=(170, 170, 160)))
    after.name = "after.jpg"
    steps = [
        ("file", district["operator"], Step()),
        ("dispatch", district["dispatcher"], Step(params={"team": "TM1"})),
        ("arrive", district["member"], Step(lon=lon, lat=lat)),
        (
            "handle",
            district["member"],
            Step(note="垃圾已清运，地面已冲洗", files=[check_upload(after)]),
        ),
        ("verify", district["inspector"], Step(params={"result": "passed"})),
        ("close", district["shift"], Step()),
    ]
    for name, actor, step in steps:
        transition_apply(case_id=case.pk, name=name, actor=actor, step=step)


def test_a_citizen_reports_on_a_phone_and_follows_the_report(
    phone, live_server, district, tmp_path
):
    requests: list[str] = []
    phone.on("request", lambda r: requests.append(r.url))
    fill_report(phone, live_server)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    shoot(phone, tmp_path, "report", full_page=True, docs=True)

    phone.get_by_test_id("submit").click()
    tracking_box = phone.get_by_test_id("tracking-number")
    tracking_box.wait_for(state="visible")
    tracking = tracking_box.inner_text().strip()
    assert re.fullmatch(r"GM[A-Z2-9]{10}", tracking)
    case = Case.objects.get(tracking=tracking)
    assert case.source == "public" and case.category.code == "E9901"
    assert case.contact_email == "citizen@example.org"
    assert case.evidence.get().media == "photo"
    shoot(phone, tmp_path, "report-done")

    phone.get_by_test_id("status-link").click()
    phone.wait_for_url(f"**/report/{tracking}/")
    assert phone.get_by_test_id("stage").get_attribute("data-stage") == "reported"
    assert phone.get_by_test_id("tracking-number").inner_text() == tracking

    # The centre runs the loop; the citizen sees it closed with both photos and rates it.
    close_the_case(district, case)
    phone.reload()
    assert phone.get_by_test_id("stage").get_attribute("data-stage") == "closed"
    phone.get_by_test_id("photo-before").wait_for()
    phone.get_by_test_id("photo-after").wait_for()
    assert phone.evaluate(
        "[...document.querySelectorAll('.photos img')].every((i) => i.complete && i.naturalWidth)"
    )
    assert "垃圾已清运" in phone.get_by_test_id("done-note").inner_text()
    shoot(phone, tmp_path, "report-status", full_page=True, docs=True)
    phone.get_by_test_id("score-5").check()
    phone.get_by_test_id("rate").click()
    phone.get_by_test_id("rating-done").wait_for()
    assert PublicRating.objects.get(case=case).score == 5

    outside = [u for u in requests if not u.startswith((live_server.url, "data:", "blob:"))]
    assert outside == [], f"the page fetched from outside: {outside}"
    assert phone.js_errors == []


def test_fields_are_explained_and_a_lost_answer_retried_files_one_case(
    phone, live_server, district
):
    phone.goto(f"{live_server.url}/report/")
    phone.wait_for_function(
        "window.reportPage && window.reportPage.layers.roads.getLayers().length"
    )
    phone.get_by_test_id("submit").click()
    assert phone.get_by_test_id("error-location").is_visible()
    assert phone.get_by_test_id("error-category").is_visible()

    # Where: an address search result, or the phone's GPS fix, sets the point.
    phone.get_by_test_id("search-input").fill("经开第一")
    phone.get_by_test_id("search-hit").first.click()
    assert "经开第一大街" in phone.get_by_test_id("location-chosen").inner_text()
    assert not phone.get_by_test_id("error-location").is_visible()
    lon, lat = lonlat(300, 60)
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 8})
    phone.get_by_test_id("gps-button").click()
    phone.wait_for_function(f"Math.abs(window.reportPage.state.chosen.lon - {lon}) < 1e-6")
    assert "±8" in phone.get_by_test_id("location-chosen").inner_text()

    fill_report(phone, live_server)
    phone.get_by_test_id("contact-email").fill("not-an-address")
    phone.get_by_test_id("submit").click()
    error = phone.get_by_test_id("error-contact_email")
    error.wait_for(state="visible")
    assert error.inner_text()  # the server's message, next to the field
    assert Case.objects.count() == 0
    phone.get_by_test_id("contact-email").fill("")

    # The report arrives but its answer is lost: the page says so; sending again answers
    # the same case.
    lost = {"count": 0}

    def drop_first_answer(route):
        if lost["count"] == 0:
            lost["count"] += 1
            route.fetch()  # the server takes it
            route.abort("connectionreset")
        else:
            route.continue_()

    phone.route("**/api/v1/public/reports", drop_first_answer)
    phone.get_by_test_id("submit").click()
    phone.get_by_test_id("error-general").wait_for(state="visible")
    assert Case.objects.count() == 1
    phone.get_by_test_id("submit").click()
    phone.get_by_test_id("tracking-number").wait_for(state="visible")
    assert phone.get_by_test_id("tracking-number").inner_text() == Case.objects.get().tracking
    assert Case.objects.count() == 1
