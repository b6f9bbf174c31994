"""The community page (/community/<code>/) shows its community's own evaluation figures: this
month so far and last month, as ``evaluate`` computes them, to its lead and to evaluators;
not to roles that do not see evaluations."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from evaluation.display import SHORT, rate_text
from evaluation.report import month_period
from evaluation.selectors import evaluate
from gridmap.models import User
from tests.evaluation.recent import recent_history
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def community_row(month, code) -> tuple[dict, int]:
    """The community's row of ``evaluate`` over the month, and how many were ranked."""
    rows = evaluate("community", month_period(month)).rows
    ranked = sum(1 for r in rows if r.rank is not None)
    return next(r.as_json() for r in rows if r.unit.key == code), ranked


def last_month():
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def months_shown(html: str) -> dict:
    found = re.findall(r'data-testid="figures-month" data-month="([\d-]+)">(.*?)</div>', html, re.S)
    return dict(found)


def test_the_lead_sees_this_month_and_last_month_as_evaluated(client):
    h = recent_history()
    east = h.area["c2"]
    client.force_login(UserFactory(role=User.Role.COMMUNITY_LEAD, community=east))
    page = client.get(f"/community/{east.code}/")
    assert page.status_code == 200
    shown = months_shown(page.content.decode())
    this = timezone.localdate().replace(day=1)
    last = last_month()
    assert list(shown) == [this.strftime("%Y-%m"), last.strftime("%Y-%m")]
    for month in (this, last):
        block = shown[month.strftime("%Y-%m")]
        row, ranked = community_row(month, east.code)
        assert row["score"] is not None
        assert re.search(r'data-testid="figures-score">([^<]*)<', block).group(1) == str(
            row["score"]
        )
        assert f">{row['grade']}</span>" in block and row["grade_colour"] in block
        assert (
            re.search(r'data-testid="figures-rank">([^<]*)<', block).group(1)
            == f"{row['rank']} / {ranked}"
        )
        rates = re.findall(r"<dt>([^<]*)</dt><dd[^>]*>([^<]*)</dd>", block)
        assert (
            str(SHORT["closure_rate"]),
            rate_text(row["indicators"]["closure_rate"]["value"]),
        ) in rates
        assert (
            f"/evaluation/report/?by=community&amp;unit={east.code}&amp;month={month:%Y-%m}"
            in block
        )
    assert "西社区" not in page.content.decode()


def test_an_evaluator_sees_the_figures_of_the_community_they_open_and_a_dispatcher_none(client):
    h = recent_history()
    west = h.area["c1"]
    client.force_login(h.evaluator)
    html = client.get(f"/community/{west.code}/").content.decode()
    # Last month the west community left its case open: second of two.
    block = months_shown(html)[last_month().strftime("%Y-%m")]
    assert re.search(r'data-testid="figures-rank">([^<]*)<', block).group(1) == "2 / 2"
    client.force_login(h.dispatcher)
    page = client.get(f"/community/{west.code}/")
    assert (
        page.status_code == 200 and 'data-testid="community-figures"' not in page.content.decode()
    )
