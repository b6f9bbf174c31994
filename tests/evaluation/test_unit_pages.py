"""The unit view (/evaluation/unit/), the printable monthly report (/evaluation/report/) and
the indicator tables of the ranking: what they show, to whom, and what bad input gets."""

import re
from datetime import date

import pytest
from django.conf import settings
from django.utils import timezone

from evaluation.display import duration_text, rate_text
from evaluation.report import month_period
from evaluation.selectors import evaluate
from gridmap.models import User
from tests.factories import UserFactory, small_district

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """Pages in English (the switch in the top bar), the source strings asserted here."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def team_row(month: date) -> dict:
    rows = evaluate("team", month_period(month)).rows
    return next(r.as_json() for r in rows if r.unit.key == "TM1")


def cell(html: str, testid: str, **attrs) -> str:
    """The text of the first element with ``data-testid`` (and the given data- attributes)."""
    extra = "".join(rf'[^>]*data-{k}="{re.escape(v)}"' for k, v in attrs.items())
    found = re.search(rf'<(\w+)[^>]*data-testid="{testid}"{extra}[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no {testid} {attrs}"
    return re.sub(r"<[^>]+>", "", found.group(2)).strip()


def test_the_unit_view_shows_each_month_as_evaluate_computes_it(client, history):
    client.force_login(history.evaluator)
    page = client.get("/evaluation/unit/", {"by": "team", "unit": "TM1", "month": "2026-10"})
    assert page.status_code == 200
    html = page.content.decode()
    assert cell(html, "unit-name").startswith("执法一中队")
    for month in (date(2026, 9, 1), date(2026, 10, 1)):
        row = team_row(month)
        label = month.strftime("%Y-%m")
        block = re.search(
            rf'data-testid="trend-month" data-month="{label}">(.*?)</tr>', html, re.S
        ).group(1)
        assert cell(block, "trend-score") == str(row["score"])
        assert cell(block, "trend-grade") == row["grade"]
        rates = re.findall(r'data-testid="trend-rate">([^<]*)<', block)
        expected = [
            rate_text(row["indicators"][n]["value"])
            for n in ("closure_rate", "on_time_disposal_rate", "rework_rate")
        ]
        assert rates == expected
    august = re.search(r'data-month="2026-08">(.*?)</tr>', html, re.S).group(1)
    assert "no cases" in august
    # The charts: one dot per month with a score, in the grade's colour.
    assert html.count("<svg") >= 2
    october = team_row(date(2026, 10, 1))
    assert (
        f'fill="{october["grade_colour"]}" data-month="2026-10" data-value="{october["score"]}"'
        in html
    )
    # The month's indicators, "no data" where nothing was counted (never 0 % or 100 %).
    satisfaction = cell(html, "indicator", name="satisfaction_rate")
    assert "no data" in satisfaction and "0 %" not in satisfaction
    assert 'href="/evaluation/report/?by=team&amp;unit=TM1&amp;month=2026-10"' in html
    assert "/api/v1/evaluation/report.xlsx?by=team&amp;unit=TM1&amp;month=2026-10" in html


def test_the_printable_report_has_the_grade_every_indicator_and_the_counts(client, history):
    client.force_login(history.evaluator)
    page = client.get(
        "/evaluation/report/",
        {"by": "team", "unit": str(history.area["team"].pk), "month": "2026-09"},
    )
    assert page.status_code == 200
    html = page.content.decode()
    row = team_row(date(2026, 9, 1))
    assert cell(html, "score") == str(row["score"])
    assert f'data-testid="grade" style="background: {row["grade_colour"]}">{row["grade"]}<' in html
    assert cell(html, "rank") == "1 / 1"
    for name, item in row["indicators"].items():
        assert cell(html, "indicator", name=name).count(rate_text(item["value"])) == 1, name
    disposal = row["durations"]["disposal"]
    assert duration_text(disposal["median_s"]) in cell(html, "duration", kind="disposal")
    assert cell(html, "count-reported") == str(row["counts"]["reported"])
    assert "E9901 暴露垃圾" in cell(html, "by-category")
    assert "camera" in cell(html, "by-source")
    assert "window.print()" in html and "@media print" in html
    assert html.count('data-testid="trend-month"') == 12


def test_a_unit_without_cases_says_so(client, history):
    client.force_login(history.evaluator)
    page = client.get("/evaluation/report/", {"by": "team", "unit": "TM1", "month": "2026-08"})
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="no-cases"' in html
    assert 'data-testid="indicator"' not in html and " %<" not in html


def test_the_ranking_has_the_indicator_tables_and_links_to_each_unit(client, history):
    client.force_login(history.evaluator)
    html = client.get(
        "/evaluation/", {"from": "2026-09-01", "to": "2026-10-01", "by": "community"}
    ).content.decode()
    c1, c2 = history.area["c1"].code, history.area["c2"].code
    row = next(
        r.as_json()
        for r in evaluate("community", month_period(date(2026, 9, 1))).rows
        if r.unit.key == c1
    )
    west = re.search(rf'data-testid="indicator-row" data-unit="{c1}">(.*?)</tr>', html, re.S).group(
        1
    )
    closure = re.search(r'data-name="closure_rate"[^>]*>([^<]*)<', west).group(1)
    assert closure == rate_text(row["indicators"]["closure_rate"]["value"])
    assert 'data-name="satisfaction_rate" title="Public satisfaction (满意度)">no data<' in west
    assert re.search(rf'data-testid="duration-row" data-unit="{c1}">', html)
    assert f'href="/evaluation/unit/?by=community&amp;unit={c1}&amp;month=2026-09"' in html
    assert f'href="/evaluation/report/?by=community&amp;unit={c2}&amp;month=2026-09"' in html


@pytest.mark.parametrize(
    "params, status, words",
    [
        ({"by": "street", "unit": "TM1", "month": "2026-10"}, 400, "by= one of"),
        ({"unit": "TM1", "month": "2026-10"}, 400, "by= one of"),
        ({"by": "team", "unit": "TM1", "month": "10/2026"}, 400, "YYYY-MM"),
        ({"by": "team", "unit": "TM1", "month": "2099-01"}, 400, "future"),
        ({"by": "team", "unit": "TM1", "month": "0001-01"}, 400, "too early"),
        ({"by": "team", "unit": "TM1", "month": "2026-10-01"}, 400, "YYYY-MM"),
        ({"by": "team", "unit": "TM9", "month": "2026-10"}, 404, "TM9"),
        ({"by": "team", "month": "2026-10"}, 404, "unit="),
    ],
)
@pytest.mark.parametrize("path", ["/evaluation/unit/", "/evaluation/report/"])
def test_bad_input_is_a_page_naming_it(client, path, params, status, words):
    small_district()
    client.force_login(UserFactory(role=User.Role.EVALUATOR))
    page = client.get(path, params)
    assert page.status_code == status
    assert words in cell(page.content.decode(), "errors")


def test_the_next_month_is_the_future(client):
    small_district()
    client.force_login(UserFactory(role=User.Role.EVALUATOR))
    first = timezone.localdate().replace(day=1)
    following = month_period(first).end.date().strftime("%Y-%m")
    assert (
        client.get(
            "/evaluation/unit/", {"by": "team", "unit": "TM1", "month": following}
        ).status_code
        == 400
    )
    now = client.get(
        "/evaluation/unit/", {"by": "team", "unit": "TM1", "month": first.strftime("%Y-%m")}
    )
    assert now.status_code == 200 and "so far" in now.content.decode()


def test_a_community_lead_sees_their_own_community_and_no_other(client, history):
    area = history.area
    client.force_login(UserFactory(role=User.Role.COMMUNITY_LEAD, community=area["c2"]))
    own = client.get(
        "/evaluation/report/", {"by": "community", "unit": area["c2"].code, "month": "2026-09"}
    )
    assert own.status_code == 200 and "东社区" in own.content.decode()
    for key in (area["c1"].code, str(area["c1"].pk)):
        for path in ("/evaluation/unit/", "/evaluation/report/"):
            other = client.get(path, {"by": "community", "unit": key, "month": "2026-09"})
            assert other.status_code == 404 and "西社区" not in other.content.decode()
    assert (
        client.get(
            "/evaluation/unit/", {"by": "team", "unit": "TM1", "month": "2026-09"}
        ).status_code
        == 403
    )
    client.force_login(UserFactory(role=User.Role.FIELD_MEMBER))
    assert client.get("/evaluation/unit/", {"by": "team", "unit": "TM1"}).status_code == 403


def test_a_department_head_sees_their_department_and_no_other(client, history):
    from tests.factories import DepartmentFactory

    department = history.category.department
    other = DepartmentFactory(code="D-OTHER", name="另一个部门")
    client.force_login(UserFactory(role=User.Role.DEPARTMENT_HEAD, department=department))
    own = client.get(
        "/evaluation/unit/", {"by": "department", "unit": department.code, "month": "2026-09"}
    )
    assert own.status_code == 200 and cell(own.content.decode(), "unit-name").startswith(
        department.name
    )
    for key in (other.code, str(other.pk)):
        assert (
            client.get(
                "/evaluation/report/", {"by": "department", "unit": key, "month": "2026-09"}
            ).status_code
            == 404
        )
    assert (
        client.get(
            "/evaluation/unit/", {"by": "community", "unit": history.area["c1"].code}
        ).status_code
        == 403
    )


def test_an_inspector_is_named_by_username_and_scored_on_their_own_rates(client, history):
    client.force_login(history.evaluator)
    page = client.get("/evaluation/unit/", {"by": "inspector", "unit": "insp", "month": "2026-09"})
    assert page.status_code == 200
    html = page.content.decode()
    # The trend's columns are the rates an inspector's score weighs.
    for label in ("Valid reports (有效上报率)", "Missed reports (漏报率)"):
        assert f'<th class="num">{label}</th>' in html
    rows = evaluate("inspector", month_period(date(2026, 9, 1))).rows
    row = next(r.as_json() for r in rows if r.unit.key == "insp")
    block = re.search(r'data-month="2026-09">(.*?)</tr>', html, re.S).group(1)
    assert row["score"] is not None
    assert cell(block, "trend-score") == str(row["score"])


@pytest.mark.parametrize(
    "params",
    [
        {"from": "0001-01-01", "to": "0001-02-01", "by": "team"},
        {"from": "9999-12-01", "to": "9999-12-31", "by": "team"},
        {"from": "2026-01-01", "to": "9999-12-31", "by": "team"},
    ],
)
def test_the_ranking_explains_dates_out_of_range(client, params):
    small_district()
    client.force_login(UserFactory(role=User.Role.EVALUATOR))
    page = client.get("/evaluation/", params)
    assert page.status_code == 200
    assert cell(page.content.decode(), "errors")
