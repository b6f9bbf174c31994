"""Every indicator against the hand-computed history of conftest.py (period Sep–Oct 2026).

By hand, for the responsible department (all seven cases) over [1 Sep, 1 Nov):

- reported 7; filed 6 (A–F; G rejected); filed and then voided 1 (E) → accurate filing 5/6.
- closed 4 (A–D); due to close 5 (A–D closed, F's deadline 23 Sep 13:10:30 passed open).
  Closure 4/5 = 80 %; no closed case had a late disposal clock (B: over the holiday, due
  8 Oct 10:32:30, handled 10:00; C: suspended a working day, due moved to 17 Sep 15:02:30,
  handled 14:00) → on-time closure 4/5 = 80 %; reworked D → rework 1/5 = 20 %;
  first-time completion 3/4 = 75 %.
- filing clocks 7, F's late → 6/7; dispatch 5/5 (E's was cancelled by the void); arrival:
  A, B, C, D's second met, D's first late (18.5 min), F's open and overdue → 4/6; feedback
  5/5; disposal: A, B, C, D twice met, F overdue → 5/6; verification 5/5.
- missed reports: A (hotline in PZ1, no inspector report near) — F is covered by G's report
  30 minutes before, 5 m away; E lies outside every patrol zone → 1/6.
- score: 10 (6 filed ≤ 50) + 0.3 × 80 + 0.3 × 83.33 + 0.3 × (100 − 20) = 83.0 → B (blue).
"""

from datetime import date

import pytest

from evaluation.indicators import Period
from evaluation.selectors import evaluate

pytestmark = pytest.mark.django_db

PERIOD = Period.from_dates(date(2026, 9, 1), date(2026, 11, 1))


def row_of(evaluation, key):
    return next(r for r in evaluation.as_json()["units"] if r["unit"]["key"] == key)


def value(row, name):
    return row["indicators"][name]["value"]


def test_department_counts_by_source_stage_and_category(history):
    row = row_of(evaluate("department", PERIOD), history.category.department.code)
    counts = row["counts"]
    assert counts["reported"] == 7
    assert counts["filed"] == 6
    assert counts["closed"] == 4
    assert counts["due_to_close"] == 5
    assert {k: v for k, v in counts["by_source"].items() if v} == {
        "hotline": 2,
        "camera": 3,
        "public": 1,
        "inspector": 1,
    }
    assert {k: v for k, v in counts["by_stage"].items() if v} == {
        "closed": 4,
        "void": 1,
        "dispatched": 1,
        "rejected": 1,
    }
    assert counts["by_category"] == {"E9901": 7}


def test_department_rates(history):
    row = row_of(evaluate("department", PERIOD), history.category.department.code)
    expected = {
        "closure_rate": (4, 5, 80.0),
        "on_time_closure_rate": (4, 5, 80.0),
        "rework_rate": (1, 5, 20.0),
        "first_time_completion_rate": (3, 4, 75.0),
        "accurate_filing_rate": (5, 6, 83.33),
        "accurate_dispatch_rate": (5, 5, 100.0),
        "missed_report_rate": (1, 6, 16.67),
        "valid_report_rate": (0, 1, 0.0),
        "on_time_filing_rate": (6, 7, 85.71),
        "on_time_dispatch_rate": (5, 5, 100.0),
        "on_time_arrival_rate": (4, 6, 66.67),
        "on_time_feedback_rate": (5, 5, 100.0),
        "on_time_disposal_rate": (5, 6, 83.33),
        "on_time_verification_rate": (5, 5, 100.0),
    }
    got = {
        name: (
            row["indicators"][name]["numerator"],
            row["indicators"][name]["denominator"],
            row["indicators"][name]["value"],
        )
        for name in expected
    }
    assert got == expected


def test_no_data_is_none_never_zero_or_hundred(history):
    row = row_of(evaluate("department", PERIOD), history.category.department.code)
    for name in ("satisfaction_rate", "attendance_rate", "punctuality_rate"):
        assert row["indicators"][name] == {
            "value": None,
            "numerator": 0,
            "denominator": 0,
            "note": "no data",
        }


def test_stage_durations_in_wall_and_working_time(history):
    row = row_of(evaluate("department", PERIOD), history.category.department.code)
    filing = row["durations"]["filing"]
    # 60, 120, 120, 120, 180, 240, 600 s
    assert filing["measure"] == "wall"
    assert filing["mean_s"] == pytest.approx(1440 / 7, abs=0.1)
    assert filing["median_s"] == 120
    assert filing["p90_s"] == pytest.approx(240 + 0.4 * 360)
    disposal = row["durations"]["disposal"]
    # Working seconds, less suspended time: D's second 1800, D's first 3510, A 6990,
    # C 37650 − 27000 = 10650 (a working day suspended), B 7050 + 5400 = 12450 (over the
    # National Day holiday: 8 wall-clock days).
    assert disposal["measure"] == "working"
    assert disposal["median_s"] == 6990
    assert disposal["mean_s"] == pytest.approx((1800 + 3510 + 6990 + 10650 + 12450) / 5)
    assert disposal["p90_s"] == pytest.approx(10650 + 0.6 * 1800)


def test_department_score_grade_and_colour(history):
    row = row_of(evaluate("department", PERIOD), history.category.department.code)
    assert row["score"] == pytest.approx(83.0)
    assert (row["grade"], row["grade_colour_name"]) == ("B", "blue")
    assert row["rank"] == 1 and row["status"] == "ok"
    assert row["previous_score"] is None and row["rank_change"] is None


def test_a_unit_without_cases_is_shown_as_such(history):
    evaluation = evaluate("department", PERIOD).as_json()
    team_department = row_of(evaluate("department", PERIOD), history.area["team"].department.code)
    assert team_department["status"] == "no cases"
    assert team_department["score"] is None and team_department["grade"] is None
    assert team_department["rank"] is None
    assert evaluation["units"][-1]["status"] == "no cases"


def test_communities_split_the_cases(history):
    evaluation = evaluate("community", PERIOD)
    west, east = row_of(evaluation, "410199001001"), row_of(evaluation, "410199001002")
    assert west["counts"]["reported"] == 6 and east["counts"]["reported"] == 1
    # East: only E, filed and voided; nothing due to close, so no closure rate and no score
    # from it: its score is made of what it has (none of the department weights apply).
    assert value(east, "accurate_filing_rate") == 0.0
    assert value(east, "closure_rate") is None
    assert east["score"] is None and east["status"] == "no data"
    assert value(west, "closure_rate") == 80.0


def test_frontage_holder(history):
    row = row_of(evaluate("frontage", PERIOD), "F1")
    assert row["unit"]["name"] == "张记面馆"
    assert row["counts"]["reported"] == 1
    assert value(row, "closure_rate") == 100.0
    assert value(row, "on_time_disposal_rate") == 100.0
    assert row["score"] == 100.0 and row["grade"] == "A"


def test_inspector(history):
    row = row_of(evaluate("inspector", PERIOD), "insp")
    # Own report G rejected → valid reports 0/1; filing of G in time → 1/1; the five
    # verifications assigned to insp all in time; missed: A of the 5 filed cases in PZ1.
    assert value(row, "valid_report_rate") == 0.0
    assert row["indicators"]["on_time_filing_rate"]["denominator"] == 1
    assert value(row, "on_time_verification_rate") == 100.0
    assert row["indicators"]["on_time_verification_rate"]["denominator"] == 5
    assert value(row, "missed_report_rate") == 20.0
    # The team's clocks are not the inspector's.
    assert value(row, "on_time_arrival_rate") is None
    assert row["score"] == pytest.approx(0.4 * 0 + 0.2 * 80 + 0.2 * 100 + 0.2 * 100)
    assert row["grade"] == "D"


def test_posts_are_scored_on_their_own_steps(history):
    evaluation = evaluate("post", PERIOD)
    operator, dispatcher = row_of(evaluation, "op"), row_of(evaluation, "disp")
    assert operator["indicators"]["on_time_filing_rate"]["numerator"] == 6
    assert operator["indicators"]["on_time_filing_rate"]["denominator"] == 7
    assert value(operator, "accurate_filing_rate") == 83.33
    assert value(operator, "on_time_dispatch_rate") is None
    # Only filing weights apply: (0.25 × 85.714 + 0.25 × 83.333) scaled to 100.
    assert operator["score"] == pytest.approx((6 / 7 * 100 + 5 / 6 * 100) / 2, abs=0.01)
    assert sorted(operator["score_left_out"]) == [
        "accurate_dispatch_rate",
        "on_time_dispatch_rate",
    ]
    assert value(dispatcher, "on_time_dispatch_rate") == 100.0
    assert dispatcher["indicators"]["on_time_dispatch_rate"]["denominator"] == 5
    assert value(dispatcher, "on_time_filing_rate") is None
    assert dispatcher["score"] == 100.0
    assert dispatcher["unit"]["role"] == "dispatcher"


def test_team_gets_the_dispatched_cases(history):
    row = row_of(evaluate("team", PERIOD), "TM1")
    assert row["counts"]["reported"] == 5  # A, B, C, D, F
    assert value(row, "on_time_arrival_rate") == 66.67


def test_period_boundaries(history):
    # September only: B is reported (30 Sep) but closed in October; its disposal deadline
    # (8 Oct) lies after the period → due to close: A, C, D (closed) and F.
    september = Period.from_dates(date(2026, 9, 1), date(2026, 10, 1))
    row = row_of(evaluate("department", september), history.category.department.code)
    assert row["counts"]["closed"] == 3
    assert row["counts"]["due_to_close"] == 4
    assert value(row, "closure_rate") == 75.0
    # October: B's closure only; the previous period of the same length (31 days) is
    # 31 Aug – 1 Oct, which holds the September cases.
    october = Period.from_dates(date(2026, 10, 1), date(2026, 11, 1))
    row = row_of(evaluate("department", october), history.category.department.code)
    assert row["counts"]["reported"] == 0
    assert row["counts"]["closed"] == 1 and value(row, "closure_rate") == 100.0
    assert row["previous_score"] is not None
    assert row["score_change"] == pytest.approx(row["score"] - row["previous_score"])


def test_campaign_counts_its_tagged_cases(history):
    from cases.models import Campaign, Case

    campaign = Campaign.objects.create(code="DQ2026", name="大气污染防治专项")
    Case.objects.filter(pk__in=[history.cases["A"].pk, history.cases["D"].pk]).update(
        campaign=campaign
    )
    row = row_of(evaluate("campaign", PERIOD), "DQ2026")
    assert row["unit"]["name"] == "大气污染防治专项"
    assert row["counts"]["reported"] == 2 and row["counts"]["closed"] == 2
    assert value(row, "rework_rate") == 50.0  # D was reworked
    assert value(row, "first_time_completion_rate") == 50.0


def test_team_attendance_and_punctuality(history):
    from gridmap.models import Attendance

    from .conftest import at

    team = history.area["team"]
    shifts = [at(9, 15, 8, 0), at(9, 16, 8, 0), at(9, 17, 8, 0)]
    # Two shifts attended (one member on time, one late on the second), one absence.
    Attendance.objects.create(
        user=history.member, team=team, kind="check_in", at=shifts[0], status="on_time",
        shift_start=shifts[0],
    )  # fmt: skip
    Attendance.objects.create(
        user=history.member, team=team, kind="check_in", at=at(9, 16, 8, 20), status="late",
        shift_start=shifts[1],
    )  # fmt: skip
    Attendance.objects.create(team=team, kind="absent", at=at(9, 17, 16, 0), shift_start=shifts[2])
    row = row_of(evaluate("team", PERIOD), "TM1")
    assert row["indicators"]["attendance_rate"]["value"] == 66.67
    assert row["indicators"]["punctuality_rate"]["value"] == 50.0
    # Communities have no attendance: no data, not 0 %.
    west = row_of(evaluate("community", PERIOD), "410199001001")
    assert west["indicators"]["attendance_rate"]["value"] is None
