"""Weights, grades and the ranking rules, without a database where none is needed."""

import pytest
from django.core.exceptions import ValidationError

from evaluation.models import ScoreWeights
from evaluation.scores import (
    DEFAULT_WEIGHTS,
    WeightsError,
    grade_of,
    score_of,
    weights_check,
    weights_for,
)


@pytest.mark.parametrize(
    ("score", "letter", "colour"),
    [
        (100, "A", "green"),
        (90, "A", "green"),
        (89.99, "B", "blue"),
        (75, "B", "blue"),
        (60, "C", "yellow"),
        (59.9, "D", "red"),
        (40, "D", "red"),
        (39.99, "E", "black"),
        (0, "E", "black"),
    ],
)
def test_grade_bands_and_colours(score, letter, colour):
    grade = grade_of(score)
    assert (grade.letter, grade.colour_name) == (letter, colour)


def test_no_score_no_grade():
    assert grade_of(None) is None


@pytest.mark.parametrize("kind", list(DEFAULT_WEIGHTS))
def test_default_weights_give_a_perfect_unit_100(kind):
    config = weights_check(kind, DEFAULT_WEIGHTS[kind])
    perfect = {name: (0.0 if name in ("rework_rate", "missed_report_rate") else 100.0)
               for name in config["weights"]}  # fmt: skip
    assert score_of(perfect, 10, config) == (100.0, [])


def test_department_volume_bands():
    config = weights_check("department", DEFAULT_WEIGHTS["department"])
    rates = {"closure_rate": 100.0, "on_time_disposal_rate": 100.0, "rework_rate": 0.0}
    assert [score_of(rates, n, config)[0] for n in (50, 51, 150, 300, 1000, 1001)] == [
        100.0,
        99.0,
        97.5,
        96.0,
        94.0,
        90.0,
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"volume_max": 10, "weights": {"closure_rate": 0.3, "rework_rate": 0.3}},
            "give a perfect unit 70, not 100",
        ),
        ({"weights": {"closure_rate": 0.5, "speed": 0.5}}, "speed is not an indicator"),
        ({"weights": {"closure_rate": 1.5, "rework_rate": -0.5}}, "must be a number ≥ 0"),
        ({"weights": {}}, "give at least one indicator weight"),
        ({"weights": {"closure_rate": 1}, "bonus": 3}, "unknown key(s) bonus"),
        (
            {
                "volume_max": 10,
                "volume_bands": [[100, 9], [50, 10]],
                "weights": {"closure_rate": 0.9},
            },
            "must go up in cases",
        ),
    ],
)
def test_bad_weights_are_refused_with_a_clear_message(config, message):
    with pytest.raises(WeightsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        weights_check("department", config)


@pytest.mark.django_db
def test_weights_from_the_admin_are_checked_and_used():
    row = ScoreWeights(kind="team", config={"weights": {"closure_rate": 0.5}})
    with pytest.raises(ValidationError, match="not 100"):
        row.full_clean()
    ScoreWeights.objects.create(kind="team", config={"weights": {"closure_rate": 1.0}})
    assert weights_for("team")["weights"] == {"closure_rate": 1.0}
    assert weights_for("department")["weights"] == DEFAULT_WEIGHTS["department"]["weights"]


def test_missing_indicators_are_left_out_and_the_rest_scaled():
    config = weights_check("department", DEFAULT_WEIGHTS["department"])
    score, left_out = score_of(
        {"closure_rate": 50.0, "on_time_disposal_rate": None, "rework_rate": None}, 10, config
    )
    # volume 10 + closure 50 % over the whole 90 points → 10 + 45.
    assert (score, left_out) == (55.0, ["on_time_disposal_rate", "rework_rate"])
