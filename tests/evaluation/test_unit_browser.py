"""The evaluation pages in a browser (Playwright, Debian's chromium): from the ranking to a
unit's trend and its printable monthly report; the community lead's figures; a phone.

Screenshots go to test-artifacts/; with GRIDMAP_DOCS_SCREENSHOTS=1 the README's pictures
(docs/evaluation-unit.png, docs/evaluation-report.png) are refreshed too.
"""

import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from evaluation.report import month_period
from evaluation.selectors import evaluate
from gridmap.models import User
from tests.browser.conftest import login
from tests.evaluation.recent import recent_history
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True}


def docs_copy(path: Path, name: str) -> None:
    if os.environ.get("GRIDMAP_DOCS_SCREENSHOTS") == "1":
        shutil.copy(path, DOCS / f"{name}.png")


def team_row(month: date) -> dict:
    return next(
        r.as_json() for r in evaluate("team", month_period(month)).rows if r.unit.key == "TM1"
    )


def rgb(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_from_the_ranking_to_a_units_trend_and_its_printable_report(
    page, live_server, history, screenshot
):
    login(
        page,
        live_server,
        "eval",
        next_path="/evaluation/%3Ffrom%3D2026-09-01%26to%3D2026-10-01%26by%3Dteam",
    )
    page.get_by_test_id("indicator-table").wait_for()
    september = team_row(date(2026, 9, 1))
    closure = page.locator("[data-testid=indicator-row][data-unit=TM1] [data-name=closure_rate]")
    assert closure.inner_text() == f"{september['indicators']['closure_rate']['value']:g} %"
    page.screenshot(path=str(screenshot("evaluation-ranking")), full_page=True)

    page.get_by_test_id("unit-link").first.click()
    page.get_by_test_id("unit-view").wait_for()
    assert "unit=TM1" in page.url and "month=2026-09" in page.url
    row = page.locator("[data-testid=trend-month][data-month='2026-09']")
    assert row.get_by_test_id("trend-score").inner_text() == str(september["score"])
    assert row.get_by_test_id("trend-grade").inner_text() == september["grade"]
    # The score chart has a dot for September in its grade's colour; the month before none.
    dot = page.locator("svg circle[data-month='2026-09']").first
    assert dot.is_visible() and dot.get_attribute("fill") == september["grade_colour"]
    assert page.locator("svg circle[data-month='2026-08']").count() == 0

    # Another month from the form: October, as evaluate computes it.
    page.select_option("select[name=month]", "2026-10")
    page.get_by_test_id("unit-form").locator("button").click()
    page.wait_for_url(re.compile(r"month=2026-10"))
    october = team_row(date(2026, 10, 1))
    assert page.get_by_test_id("score").inner_text() == str(october["score"])
    shot = screenshot("evaluation-unit")
    page.screenshot(path=str(shot), full_page=True)
    docs_copy(shot, "evaluation-unit")

    page.get_by_test_id("report-link").click()
    page.get_by_test_id("monthly-report-page").wait_for()
    grade = page.get_by_test_id("grade")
    assert grade.inner_text() == october["grade"]
    assert grade.evaluate("e => getComputedStyle(e).backgroundColor") == rgb(
        october["grade_colour"]
    )
    value = page.locator("[data-testid=indicator][data-name=on_time_disposal_rate]")
    expected = october["indicators"]["on_time_disposal_rate"]["value"]
    assert value.get_by_test_id("indicator-value").inner_text() == f"{expected:g} %"
    satisfaction = page.locator("[data-testid=indicator][data-name=satisfaction_rate]")
    assert "%" not in satisfaction.get_by_test_id("indicator-value").inner_text()  # no data
    assert page.get_by_test_id("trend-month").count() == 12
    assert (
        page.get_by_test_id("xlsx-link")
        .get_attribute("href")
        .endswith("by=team&unit=TM1&month=2026-10")
    )

    # The button prints; printed, the page has no top bar and no buttons, the grade its colour.
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_test_id("print").click()
    assert page.evaluate("window.printed") is True
    page.emulate_media(media="print")
    assert not page.get_by_test_id("nav").is_visible()
    assert not page.get_by_test_id("print").is_visible()
    assert grade.is_visible()
    shot = screenshot("evaluation-report")
    page.screenshot(path=str(shot), full_page=True)
    docs_copy(shot, "evaluation-report")
    assert page.js_errors == []


def test_the_pages_fit_a_phone(browser, live_server, history, tmp_path):
    context = browser.new_context(locale="zh-CN", **PHONE)
    phone = context.new_page()
    try:
        login(
            phone,
            live_server,
            "eval",
            next_path="/evaluation/report/%3Fby%3Dteam%26unit%3DTM1%26month%3D2026-09",
        )
        phone.get_by_test_id("monthly-report-page").wait_for()
        assert phone.get_by_test_id("grade").is_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= phone.evaluate("window.innerWidth"), "the page scrolls sideways"
        box = phone.locator("[data-testid=chart] svg").first.bounding_box()
        assert 0 < box["width"] <= 360
        phone.screenshot(path=str(tmp_path / "evaluation-report-phone.png"), full_page=True)
        for path, testid in [
            ("/evaluation/unit/?by=team&unit=TM1&month=2026-09", "unit-view"),
            ("/evaluation/?from=2026-09-01&to=2026-10-01&by=team", "indicator-table"),
        ]:
            phone.goto(live_server.url + path)
            phone.get_by_test_id(testid).wait_for()
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= phone.evaluate("window.innerWidth"), f"{path} scrolls sideways"
    finally:
        context.close()


def test_the_community_lead_sees_their_figures_and_not_another_community(
    page, live_server, screenshot
):
    h = recent_history()
    east, west = h.area["c2"], h.area["c1"]
    UserFactory(username="east", role=User.Role.COMMUNITY_LEAD, community=east)
    login(page, live_server, "east")
    assert page.url.endswith(f"/community/{east.code}/")
    figures = page.get_by_test_id("figures-month")
    assert figures.count() == 2
    last = figures.nth(1)
    month = last.get_attribute("data-month")
    rows = evaluate("community", month_period(date.fromisoformat(f"{month}-01"))).rows
    row = next(r.as_json() for r in rows if r.unit.key == east.code)
    assert last.get_by_test_id("figures-score").inner_text() == str(row["score"])
    assert last.get_by_test_id("figures-rank").inner_text() == f"{row['rank']} / 2"
    screenshot("evaluation-community")

    last.get_by_test_id("figures-report-link").click()
    page.get_by_test_id("monthly-report-page").wait_for()
    assert page.get_by_test_id("unit-name").inner_text() == east.name
    assert page.get_by_test_id("score").inner_text() == str(row["score"])

    for key in (west.code, str(west.pk)):
        answer = page.goto(f"{live_server.url}/evaluation/unit/?by=community&unit={key}")
        assert answer.status == 404
        assert page.get_by_test_id("errors").is_visible()
        assert west.name not in page.content()
    assert page.js_errors == []
