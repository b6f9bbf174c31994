"""``GET /api/v1/evaluation`` and the monthly XLSX report: roles, scope, bad input."""

import io

import pytest
from openpyxl import load_workbook

from gridmap.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/evaluation"
PERIOD = {"from": "2026-09-01", "to": "2026-11-01"}


def get(client, user, url=URL, **params):
    client.force_login(user)
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


def test_an_evaluator_sees_every_unit(client, history):
    response = get(client, history.evaluator, **PERIOD, by="community")
    assert response.status_code == 200
    units = {u["unit"]["key"]: u for u in response.json()["units"]}
    assert set(units) == {"410199001001", "410199001002"}
    assert units["410199001001"]["indicators"]["closure_rate"]["value"] == 80.0


def test_a_community_lead_sees_only_their_community(client, history):
    lead = UserFactory(username="east", role=User.Role.COMMUNITY_LEAD, community=history.area["c2"])
    response = get(client, lead, **PERIOD, by="community")
    assert response.status_code == 200
    assert [u["unit"]["key"] for u in response.json()["units"]] == ["410199001002"]
    response = get(client, lead, **PERIOD, by="department")
    assert response.status_code == 403
    assert "by=community" in response.json()["detail"]


def test_an_evaluator_of_one_community_evaluates_its_cases_only(client, history):
    scoped = UserFactory(
        username="eval_east", role=User.Role.EVALUATOR, community=history.area["c2"]
    )
    response = get(client, scoped, **PERIOD, by="department")
    department = history.category.department.code
    row = next(u for u in response.json()["units"] if u["unit"]["key"] == department)
    assert row["counts"]["reported"] == 1  # E only


@pytest.mark.parametrize("role", ["operator", "field_member", "inspector", "dispatcher"])
def test_other_roles_are_refused(client, history, role):
    user = UserFactory(username=f"u_{role}", role=role)
    assert get(client, user, **PERIOD, by="team").status_code == 403


def test_anonymous_is_refused(client, history):
    assert client.get(URL, {**PERIOD, "by": "team"}).status_code in (401, 403)


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"from": "2026-10-01", "to": "2026-09-01", "by": "team"}, "to", "before it starts"),
        ({"from": "2026-10-01", "to": "2026-10-01", "by": "team"}, "to", "is empty"),
        ({**PERIOD, "by": "street"}, "by", "one of"),
        ({"from": "yesterday", "to": "2026-10-01", "by": "team"}, "from", "not a date"),
        ({"to": "2026-10-01", "by": "team"}, "from", "YYYY-MM-DD"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client, history, params, field, text):
    response = get(client, history.evaluator, **params)
    assert response.status_code == 400
    assert text in str(response.json()[field])


def test_monthly_report_xlsx(client, history):
    response = get(
        client, history.evaluator, f"{URL}/report.xlsx", month="2026-09", by="frontage", unit="F1"
    )
    assert response.status_code == 200
    assert "evaluation-frontage-2026-09-F1.xlsx" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["ranking", "indicators", "trend"]
    ranking = list(book["ranking"].values)
    assert ranking[1][1] == "F1" and ranking[1][5] == "A"
    indicators = {r[1]: r[2] for r in list(book["indicators"].values)[1:]}
    assert indicators["closure_rate"] == 100.0
    assert indicators["satisfaction_rate"] is None
    trend = list(book["trend"].values)
    assert [r[0] for r in trend[1:]] == ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
                                         "2026-09"]  # fmt: skip
    assert trend[-1][2] == 100.0 and trend[1][2] is None


def test_monthly_report_of_an_unknown_unit_is_404(client, history):
    response = get(
        client, history.evaluator, f"{URL}/report.xlsx", month="2026-09", by="frontage", unit="F9"
    )
    assert response.status_code == 404
    response = get(client, history.evaluator, f"{URL}/report.xlsx", month="2026-9x", by="team")
    assert response.status_code == 400


def test_a_department_head_sees_only_their_department(client, history):
    department = history.category.department
    head = UserFactory(username="head", role=User.Role.DEPARTMENT_HEAD, department=department)
    response = get(client, head, **PERIOD, by="department")
    assert response.status_code == 200
    assert [u["unit"]["key"] for u in response.json()["units"]] == [department.code]
    assert get(client, head, **PERIOD, by="team").status_code == 403


@pytest.mark.parametrize(
    ("url", "params", "field", "text"),
    [
        (URL, {"from": "2026-01-01", "to": "9999-12-31", "by": "team"}, "to", "out of range"),
        (URL, {"from": "1900-01-01", "to": "1900-02-01", "by": "team"}, "to", "out of range"),
        (f"{URL}/report.xlsx", {"month": "0001-01", "by": "team"}, "month", "too early"),
        (f"{URL}/report.xlsx", {"month": "2999-01", "by": "team"}, "month", "in the future"),
        (f"{URL}/report.xlsx", {"month": "March", "by": "team"}, "month", "YYYY-MM"),
    ],
)
def test_dates_out_of_range_are_a_400_naming_them(client, history, url, params, field, text):
    response = get(client, history.evaluator, url, **params)
    assert response.status_code == 400
    assert text in str(response.json()[field])
