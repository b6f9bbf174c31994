"""Public satisfaction (群众满意度) comes from citizens' ratings of their closed reports.

Of the history's four closed cases, three are rated through the public rating service: A 5 stars,
B 2, C 4. Satisfied from 4 stars → 2 of 3 rated = 66.67 % for the department and the team;
the rating is an event of its case, written with it or not at all.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import CaseEvent, PublicRating
from cases.public import RatingRefused, public_rating_add
from evaluation.indicators import Period
from evaluation.selectors import evaluate

from .test_indicators import row_of

pytestmark = pytest.mark.django_db


def around_now() -> Period:
    now = timezone.now()
    return Period(now - timedelta(hours=1), now + timedelta(hours=1))


def test_ratings_make_the_satisfaction_rate(history):
    for name, stars in (("A", 5), ("B", 2), ("C", 4)):
        public_rating_add(case=history.cases[name], score=stars, comment="")
    evaluation = evaluate("department", around_now())
    rate = row_of(evaluation, history.category.department.code)["indicators"]["satisfaction_rate"]
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (2, 3, 66.67)
    team = row_of(evaluate("team", around_now()), "TM1")["indicators"]["satisfaction_rate"]
    assert (team["numerator"], team["denominator"]) == (2, 3)


def test_the_rating_period_is_when_it_was_given(history):
    public_rating_add(case=history.cases["A"], score=5)
    earlier = Period(timezone.now() - timedelta(days=2), timezone.now() - timedelta(days=1))
    row = row_of(evaluate("department", earlier), history.category.department.code)
    assert row["status"] == "no cases"  # nothing ran then: no rating counted either
    assert "satisfaction_rate" not in row["indicators"]


def test_a_refused_rating_writes_no_event(history):
    public_rating_add(case=history.cases["A"], score=4)
    with pytest.raises(RatingRefused):
        public_rating_add(case=history.cases["A"], score=1)
    with pytest.raises(RatingRefused):
        public_rating_add(case=history.cases["F"], score=5)  # still open
    events = CaseEvent.objects.filter(kind="satisfaction")
    assert [(e.case_id, e.data["score"], e.data["satisfied"]) for e in events] == [
        (history.cases["A"].pk, 4, True)
    ]
    assert PublicRating.objects.count() == 1
