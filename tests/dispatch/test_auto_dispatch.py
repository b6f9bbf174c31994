"""Automatic dispatch (自动派遣): filing a case of a category with ``auto_dispatch`` sends it to
the recommendation's best available team in the filing's transaction (the square of streets of
test_recommend.py: W is one-way southbound)."""

import pytest

from cases.models import Case, CaseEvent, Category, Notification
from gridmap.models import Team
from tests.cases.test_loop import step
from tests.dispatch.test_recommend import area as area
from tests.dispatch.test_recommend import case_at, team

pytestmark = pytest.mark.django_db


@pytest.fixture
def auto(area):
    Category.objects.filter(code__in=["E9911", "E9912"]).update(auto_dispatch=True)
    return area


def test_filing_dispatches_to_the_best_available_team(client, auto):
    case = case_at(auto, 50, 230)
    team(auto, "TA", 50, 70)  # nearer in a line, far by road (one-way street)
    team(auto, "TB", 350, 230)
    team(auto, "TC", 60, 240, status="responding")  # nearest of all, but busy
    response = step(client, auto["operator"], case, "file")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.stage == "dispatched" and case.team.code == "TB"
    event = CaseEvent.objects.get(case=case, kind="dispatch")
    assert event.actor is None
    assert event.data["auto"] is True and event.data["rank"] == 1
    assert event.data["method"] == "network" and event.data["eta_s"] == pytest.approx(59.4, abs=0.2)
    assert Team.objects.get(code="TB").status == "responding"
    # The answer already shows the dispatched case.
    assert response.json()["case"]["properties"]["stage"] == "dispatched"


def test_without_an_available_team_the_case_waits_for_a_dispatcher(client, auto):
    case = case_at(auto, 50, 230)
    team(auto, "TC", 60, 240, status="responding")
    assert step(client, auto["operator"], case, "file").status_code == 200
    case.refresh_from_db()
    assert case.stage == "registered" and case.team is None
    assert not CaseEvent.objects.filter(case=case, kind="dispatch").exists()


def test_without_an_eligible_team_the_shift_leaders_hear_of_it_at_filing(client, auto):
    case = case_at(auto, 200, 60, category="E9912")
    assert step(client, auto["operator"], case, "file").status_code == 200
    assert Case.objects.get(pk=case.pk).stage == "registered"
    notes = Notification.objects.filter(case=case, kind="no_team")
    assert sorted(n.user.username for n in notes) == ["shift1", "shift2"]
