"""Each clock row carries its case's units (department, team, community, subdistrict,
campaign), kept by database triggers, so that the evaluation groups clocks without joining the
cases: written at intake (one statement with the case), on every later clock, and passed on
whenever the case's units change — by the loop, the ORM or plain SQL."""

import pytest
from django.db import connection

from cases.models import Campaign, Case, Clock
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

UNITS = ("department", "team", "community", "subdistrict", "campaign")


def units_of_clocks(case) -> set:
    return set(Clock.objects.filter(case=case).values_list(*(f"unit_{u}_id" for u in UNITS)))


def units_of_case(case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return tuple(getattr(case, f"{u}_id") for u in UNITS)


def test_every_clock_carries_its_cases_units(history):
    for case in history.cases.values():
        assert units_of_clocks(case) == {units_of_case(case)}, case.number
    dispatched = history.cases["A"]
    assert Case.objects.get(pk=dispatched.pk).team_id is not None  # the loop set the team


def test_the_clocks_follow_the_case(history):
    case = history.cases["F"]  # still open
    other = TeamFactory(department=history.category.department)
    assert Case.objects.get(pk=case.pk).team_id != other.pk
    Case.objects.filter(pk=case.pk).update(team=other)  # e.g. a re-dispatch
    assert units_of_clocks(case) == {units_of_case(case)}
    campaign = Campaign.objects.create(code="DQ2026", name="大气污染防治专项")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case SET campaign_id = %s WHERE id = %s", [campaign.pk, case.pk]
        )
    assert units_of_clocks(case) == {units_of_case(case)}
    assert {units[1] for units in units_of_clocks(case)} == {other.pk}
