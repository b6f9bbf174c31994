"""The month series of one unit (evaluation/trends.py): each month's figures are those of
``evaluate`` over that calendar month; bad months, kinds and units are refused by name."""

from datetime import date

import pytest

from evaluation.api import access_for
from evaluation.report import month_period
from evaluation.selectors import evaluate
from evaluation.trends import TrendInputError, kind_check, month_parse, unit_find, unit_trend
from gridmap.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_each_month_of_the_trend_is_the_evaluation_of_that_month(history):
    access = access_for(history.evaluator, "team")
    team = unit_find("team", "TM1", access)
    trend = unit_trend("team", team, date(2026, 10, 1), scope=access.scope)
    assert [p.label for p in trend.months][-3:] == ["2026-08", "2026-09", "2026-10"]
    assert len(trend.months) == 12
    for point in trend.months[-2:]:
        expected = next(
            r.as_json()
            for r in evaluate("team", month_period(point.month)).rows
            if r.unit.key == "TM1"
        )
        assert point.score == expected["score"] is not None
        assert point.grade == expected["grade"]
        assert point.rank == expected["rank"] == 1
        assert point.row["indicators"] == expected["indicators"]
        assert point.row["counts"] == expected["counts"]
    # September: A, C, D, F reported in the team's area (B on 30 Sep too); August: nothing yet.
    assert trend.months[-2].row["counts"]["reported"] >= 4
    assert trend.months[-3].status == "no cases" and trend.months[-3].score is None
    assert trend.key_rates == ["closure_rate", "on_time_disposal_rate", "rework_rate"]
    # The change is read from the month before in the same series.
    before, now = trend.months[-2], trend.months[-1]
    assert trend.score_change == round(now.score - before.score, 2)
    assert trend.rank_change == 0


def test_a_unit_is_found_by_code_or_id_and_a_lead_only_finds_their_own(history):
    area = history.area
    evaluator = access_for(history.evaluator, "community")
    assert unit_find("community", area["c1"].code, evaluator).id == area["c1"].pk
    assert unit_find("community", str(area["c1"].pk), evaluator).key == area["c1"].code
    lead = UserFactory(role=User.Role.COMMUNITY_LEAD, community=area["c2"])
    access = access_for(lead, "community")
    assert unit_find("community", area["c2"].code, access).id == area["c2"].pk
    for key in (area["c1"].code, str(area["c1"].pk), "nonesuch", ""):
        with pytest.raises(LookupError):
            unit_find("community", key, access)


def test_bad_months_and_kinds_are_named():
    today = date(2026, 11, 25)
    assert month_parse("2026-10", today=today) == date(2026, 10, 1)
    assert month_parse("", today=today) == date(2026, 11, 1)
    assert month_parse("2026-11", today=today) == date(2026, 11, 1)  # this month so far
    for text, words in [
        ("2026-12", "future"),
        ("2027-01", "future"),
        ("2026/10", "YYYY-MM"),
        ("2026-13", "YYYY-MM"),
        ("Oct", "YYYY-MM"),
        ("2026-1", "YYYY-MM"),
        ("0001-01", "too early"),
    ]:
        with pytest.raises(TrendInputError, match=words):
            month_parse(text, today=today)
    assert kind_check("team") == "team"
    with pytest.raises(TrendInputError, match="by= one of"):
        kind_check("street")
    with pytest.raises(TrendInputError, match="by= one of"):
        kind_check(None)


URL = "/api/v1/evaluation/trend"


def test_the_trend_api_gives_each_month_and_refuses_bad_input(client, history):
    client.force_login(history.evaluator)
    answer = client.get(URL, {"by": "team", "unit": "TM1", "month": "2026-10"})
    assert answer.status_code == 200
    data = answer.json()
    assert data["unit"]["key"] == "TM1" and len(data["months"]) == 12
    rows = evaluate("team", month_period(date(2026, 9, 1))).rows
    september = next(r.as_json() for r in rows if r.unit.key == "TM1")
    shown = data["months"][-2]
    assert shown["month"] == "2026-09" and shown["score"] == september["score"]
    assert shown["indicators"]["closure_rate"] == september["indicators"]["closure_rate"]["value"]
    assert shown["indicators"]["satisfaction_rate"] is None  # no data, not 0
    assert data["months"][0]["status"] == "no cases"
    for params, field in [
        ({"by": "street", "unit": "TM1"}, "by"),
        ({"unit": "TM1"}, "by"),
        ({"by": "team", "unit": "TM1", "month": "2026-1"}, "month"),
        ({"by": "team", "unit": "TM1", "month": "2999-01"}, "month"),
    ]:
        answer = client.get(URL, params)
        assert answer.status_code == 400 and field in answer.json(), params
    assert client.get(URL, {"by": "team", "unit": "TM9"}).status_code == 404


def test_the_trend_api_is_scoped_as_the_pages(client, history):
    area = history.area
    client.force_login(UserFactory(role=User.Role.COMMUNITY_LEAD, community=area["c2"]))
    assert client.get(URL, {"by": "community", "unit": area["c2"].code}).status_code == 200
    for key in (area["c1"].code, str(area["c1"].pk)):
        assert client.get(URL, {"by": "community", "unit": key}).status_code == 404
    assert client.get(URL, {"by": "team", "unit": "TM1"}).status_code == 403
