"""Composite scores (综合得分), grades A–E and the ranking (红黑榜).

A score adds weighted indicator rates (in %, 0–100) and, for the area kinds, a volume score
(案件量得分: fewer filed cases, more points). Weights are configurable per unit kind
(``ScoreWeights`` in the admin; defaults below from the reference file) and must give a perfect
unit exactly 100: ``volume_max + 100 × Σ weights`` = 100. An indicator where lower is better
(rework, missed reports) counts as ``100 − rate``.

A unit without cases has no score ("no cases"). When some indicators of a unit have no data
(no clock of that kind ran in the period), the score is made of the others, their weights
scaled up so that a perfect unit still scores 100; the row names what was left out.
"""

import itertools
import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

#: Indicators a score may weigh, and whether lower is better.
SCOREABLE = {
    "closure_rate": False,
    "on_time_closure_rate": False,
    "rework_rate": True,
    "first_time_completion_rate": False,
    "on_time_filing_rate": False,
    "on_time_dispatch_rate": False,
    "on_time_arrival_rate": False,
    "on_time_feedback_rate": False,
    "on_time_disposal_rate": False,
    "on_time_verification_rate": False,
    "accurate_filing_rate": False,
    "accurate_dispatch_rate": False,
    "missed_report_rate": True,
    "valid_report_rate": False,
    "satisfaction_rate": False,
    "attendance_rate": False,
}

#: filed ≤ 50 → 10, ≤ 100 → 9, ≤ 200 → 7.5, ≤ 500 → 6, ≤ 1000 → 4, else 0 (reference file).
DEFAULT_VOLUME_BANDS = [[50, 10], [100, 9], [200, 7.5], [500, 6], [1000, 4]]
_AREA = {
    "volume_max": 10,
    "volume_bands": DEFAULT_VOLUME_BANDS,
    "weights": {"closure_rate": 0.3, "on_time_disposal_rate": 0.3, "rework_rate": 0.3},
}
DEFAULT_WEIGHTS: dict[str, dict] = {
    "department": _AREA,
    "team": _AREA,
    "community": _AREA,
    "frontage": _AREA,
    "campaign": _AREA,
    "inspector": {
        "volume_max": 0,
        "volume_bands": [],
        "weights": {
            "valid_report_rate": 0.4,
            "missed_report_rate": 0.2,
            "on_time_verification_rate": 0.2,
            "on_time_filing_rate": 0.2,
        },
    },
    # Not in the reference: the centre's own posts are scored on their own steps' clocks and
    # accuracy, equally.
    "post": {
        "volume_max": 0,
        "volume_bands": [],
        "weights": {
            "on_time_filing_rate": 0.25,
            "accurate_filing_rate": 0.25,
            "on_time_dispatch_rate": 0.25,
            "accurate_dispatch_rate": 0.25,
        },
    },
}

#: Grades and their colours as commonly shown: A green, B blue, C yellow, D red, E black.
GRADES = (
    ("A", 90.0, "#2e7d32", "green"),
    ("B", 75.0, "#1565c0", "blue"),
    ("C", 60.0, "#f9a825", "yellow"),
    ("D", 40.0, "#c62828", "red"),
    ("E", -math.inf, "#000000", "black"),
)
TOLERANCE = 1e-6


class WeightsError(ValueError):
    """Weights that cannot score: the message says which and what would do."""


@dataclass(frozen=True)
class Grade:
    letter: str
    colour: str
    colour_name: str


def grade_of(score: float | None) -> Grade | None:
    """A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below; None without a score."""
    if score is None:
        return None
    for letter, floor, colour, name in GRADES:
        if score >= floor:
            return Grade(letter, colour, name)
    raise AssertionError("unreachable")  # pragma: no cover


def weights_check(kind: str, config: dict) -> dict:
    """A weights configuration checked and normalised; raises ``WeightsError`` naming the
    problem (unknown indicator, negative weight, bands out of order, a sum that is not 100)."""
    if not isinstance(config, dict):
        raise WeightsError(_("Weights of %(kind)s must be an object.") % {"kind": kind})
    unknown = set(config) - {"volume_max", "volume_bands", "weights"}
    if unknown:
        raise WeightsError(
            _(
                "Weights of %(kind)s: unknown key(s) %(keys)s; known: volume_max, volume_bands, "
                "weights."
            )
            % {"kind": kind, "keys": ", ".join(sorted(unknown))}
        )
    weights = config.get("weights") or {}
    if not isinstance(weights, dict) or not weights:
        raise WeightsError(
            _("Weights of %(kind)s: give at least one indicator weight.") % {"kind": kind}
        )
    for name, value in weights.items():
        if name not in SCOREABLE:
            raise WeightsError(
                _(
                    "Weights of %(kind)s: %(name)s is not an indicator a score can weigh; "
                    "known: %(known)s."
                )
                % {"kind": kind, "name": name, "known": ", ".join(SCOREABLE)}
            )
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise WeightsError(
                _("Weights of %(kind)s: the weight of %(name)s must be a number ≥ 0.")
                % {"kind": kind, "name": name}
            )
    volume_max = config.get("volume_max", 0) or 0
    bands = config.get("volume_bands") or []
    if not isinstance(volume_max, int | float) or volume_max < 0:
        raise WeightsError(
            _("Weights of %(kind)s: volume_max must be a number ≥ 0.") % {"kind": kind}
        )
    try:
        bands = [[float(limit), float(points)] for limit, points in bands]
    except (TypeError, ValueError):
        raise WeightsError(
            _("Weights of %(kind)s: volume_bands must be pairs [at most N filed cases, points].")
            % {"kind": kind}
        ) from None
    if any(b[0] <= a[0] for a, b in itertools.pairwise(bands)):
        raise WeightsError(
            _("Weights of %(kind)s: volume_bands must go up in cases.") % {"kind": kind}
        )
    if any(p < 0 or p > volume_max + TOLERANCE for _limit, p in bands):
        raise WeightsError(
            _("Weights of %(kind)s: volume_bands points must lie between 0 and volume_max.")
            % {"kind": kind}
        )
    perfect = volume_max + 100 * sum(weights.values())
    if abs(perfect - 100) > TOLERANCE:
        raise WeightsError(
            _(
                "Weights of %(kind)s give a perfect unit %(perfect)s, not 100: volume_max "
                "(%(volume)s) + 100 × the sum of the weights (%(sum)s) must be 100."
            )
            % {
                "kind": kind,
                "perfect": f"{perfect:g}",
                "volume": f"{volume_max:g}",
                "sum": f"{sum(weights.values()):g}",
            }
        )
    return {"volume_max": float(volume_max), "volume_bands": bands, "weights": dict(weights)}


def weights_for(kind: str) -> dict:
    """The weights in force for ``kind``: the admin's, else the defaults (both checked)."""
    from .models import ScoreWeights

    row = ScoreWeights.objects.filter(kind=kind).first()
    if row is not None:
        return weights_check(kind, row.config)
    return weights_check(kind, DEFAULT_WEIGHTS[kind])


def volume_score(filed: int, config: dict) -> float:
    """Points for the number of filed cases (more cases, fewer points)."""
    for limit, points in config["volume_bands"]:
        if filed <= limit:
            return points
    return 0.0


def score_of(indicators: dict, filed: int, config: dict) -> tuple[float | None, list[str]]:
    """The composite score of one unit and the indicators it had to leave out (no data)."""
    used, missing, total = 0.0, [], 0.0
    for name, weight in config["weights"].items():
        value = indicators.get(name)
        if value is None:
            missing.append(name)
            continue
        used += weight
        total += weight * ((100 - value) if SCOREABLE[name] else value)
    volume_max = config["volume_max"]
    if used <= 0:
        return None, missing
    rates_max = 100 - volume_max
    scaled = total * (rates_max / 100) / used if used else 0.0
    return round(volume_score(filed, config) + scaled, 2), missing
