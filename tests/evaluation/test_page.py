"""The evaluator page: the ranking of a kind of unit over a period, by role."""

import pytest

from gridmap.models import User
from tests.factories import UserFactory, small_district

pytestmark = pytest.mark.django_db


def test_an_evaluator_sees_every_team_and_a_unit_without_cases_says_so(client):
    small_district()
    client.force_login(UserFactory(role=User.Role.EVALUATOR))
    page = client.get("/evaluation/", {"from": "2026-10-01", "to": "2026-11-01", "by": "team"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="ranking"' in html and "执法一中队" in html
    assert "无案卷" in html or "no cases" in html  # shown as such, not as 0 % or 100 %
    assert "month=2026-10&amp;by=team" in html  # the monthly report of that month


def test_an_evaluator_lands_on_the_departments_ranking(client):
    small_district()
    client.force_login(UserFactory(role=User.Role.EVALUATOR))
    html = client.get("/evaluation/").content.decode()
    assert '<option value="department" selected>' in html
    assert "&amp;by=department" in html  # the monthly report link follows


def test_bad_dates_are_explained(client):
    small_district()
    client.force_login(UserFactory(role=User.Role.EVALUATOR))
    page = client.get("/evaluation/", {"from": "2026-11-01", "to": "2026-10-01", "by": "team"})
    assert page.status_code == 200 and 'data-testid="errors"' in page.content.decode()
    page = client.get("/evaluation/", {"from": "yesterday", "by": "team"})
    assert 'data-testid="errors"' in page.content.decode()


def test_a_community_lead_sees_only_their_community_and_others_no_page(client):
    area = small_district()
    client.force_login(UserFactory(role=User.Role.COMMUNITY_LEAD, community=area["c2"]))
    page = client.get("/evaluation/", {"from": "2026-10-01", "to": "2026-11-01"})
    html = page.content.decode()
    assert page.status_code == 200 and "东社区" in html and "西社区" not in html
    assert client.get("/evaluation/", {"by": "team"}).status_code == 403
    client.force_login(UserFactory(role=User.Role.FIELD_MEMBER))
    assert client.get("/evaluation/").status_code == 403
