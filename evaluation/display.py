"""How the evaluation pages write figures for people: indicator names, rates in %, stage
durations in readable units, and the cells of the indicator tables.

A rate with nothing to divide by reads "no data" (never 0 % or 100 %); a unit without cases
reads "no cases". The JSON of ``Row.as_json()`` is the input, so that a page shows exactly what
the API answers.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Case, Category

from .indicators import CLOCK_KINDS

#: Every rate of a row, in the order the tables and the report list them.
INDICATORS = {
    "on_time_filing_rate": gettext_lazy("On-time filing (5 min)"),
    "on_time_dispatch_rate": gettext_lazy("On-time dispatch (1 min)"),
    "on_time_arrival_rate": gettext_lazy("On-time arrival (10 min)"),
    "on_time_feedback_rate": gettext_lazy("On-time video feedback (3 min)"),
    "on_time_disposal_rate": gettext_lazy("On-time disposal (category limit)"),
    "on_time_verification_rate": gettext_lazy("On-time verification"),
    "closure_rate": gettext_lazy("Closure rate (结案率)"),
    "on_time_closure_rate": gettext_lazy("On-time closure rate (按期结案率)"),
    "rework_rate": gettext_lazy("Rework rate (返工率)"),
    "first_time_completion_rate": gettext_lazy("First-time completion (一次完成率)"),
    "accurate_filing_rate": gettext_lazy("Accurate filing (准确立案率)"),
    "accurate_dispatch_rate": gettext_lazy("Accurate dispatch (准确派遣率)"),
    "missed_report_rate": gettext_lazy("Missed reports (漏报率)"),
    "valid_report_rate": gettext_lazy("Valid reports (有效上报率)"),
    "satisfaction_rate": gettext_lazy("Public satisfaction (满意度)"),
    "attendance_rate": gettext_lazy("Attendance (出勤率)"),
    "punctuality_rate": gettext_lazy("Punctuality"),
}
#: Short column heads of the indicator table (the full names are their titles).
SHORT = {
    "on_time_filing_rate": gettext_lazy("Filing on time"),
    "on_time_dispatch_rate": gettext_lazy("Dispatch on time"),
    "on_time_arrival_rate": gettext_lazy("Arrival on time"),
    "on_time_feedback_rate": gettext_lazy("Feedback on time"),
    "on_time_disposal_rate": gettext_lazy("Disposal on time"),
    "on_time_verification_rate": gettext_lazy("Verification on time"),
    "closure_rate": gettext_lazy("Closure"),
    "on_time_closure_rate": gettext_lazy("On-time closure"),
    "rework_rate": gettext_lazy("Rework"),
    "first_time_completion_rate": gettext_lazy("First-time"),
    "accurate_filing_rate": gettext_lazy("Accurate filing"),
    "accurate_dispatch_rate": gettext_lazy("Accurate dispatch"),
    "missed_report_rate": gettext_lazy("Missed"),
    "valid_report_rate": gettext_lazy("Valid reports"),
    "satisfaction_rate": gettext_lazy("Satisfaction"),
    "attendance_rate": gettext_lazy("Attendance"),
    "punctuality_rate": gettext_lazy("Punctuality"),
}
#: Rates where lower is better (the report says so beside them).
LOWER_IS_BETTER = {"rework_rate", "missed_report_rate"}
STAGE_NAMES = {
    "filing": gettext_lazy("Filing"),
    "dispatch": gettext_lazy("Dispatch"),
    "arrival": gettext_lazy("Arrival"),
    "feedback": gettext_lazy("Video feedback"),
    "disposal": gettext_lazy("Disposal"),
    "verification": gettext_lazy("Verification"),
}
SOURCE_NAMES = dict(Case.Source.choices)
CASE_STAGE_NAMES = dict(Case.Stage.choices)


def rate_text(value) -> str:
    """``12.5`` → "12.5 %"; None → "no data"."""
    if value is None:
        return _("no data")
    return f"{value:g} %"


def duration_text(seconds) -> str:
    """Seconds in the largest units that read well: "45 s", "3 min 20 s", "2 h 05 min",
    "1 d 3 h"; None → "no data"."""
    if seconds is None:
        return _("no data")
    total = round(float(seconds))
    if total < 60:
        return _("%(s)d s") % {"s": total}
    minutes, sec = divmod(total, 60)
    if minutes < 60:
        return _("%(m)d min %(s)02d s") % {"m": minutes, "s": sec}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


def indicator_cells(row: dict) -> list[dict]:
    """The rates of one row as table cells: name, text, and what the rate was made of."""
    cells = []
    for name, label in INDICATORS.items():
        item = row["indicators"].get(name)
        value = item["value"] if item else None
        made_of = (
            f"{item['numerator']} / {item['denominator']}" if item and item["denominator"] else ""
        )
        cells.append(
            {
                "name": name,
                "label": label,
                "short": SHORT[name],
                "value": value,
                "text": rate_text(value),
                "made_of": made_of,
                "lower_is_better": name in LOWER_IS_BETTER,
            }
        )
    return cells


def duration_cells(row: dict) -> list[dict]:
    """Mean, median and 90th percentile of each stage, readable; working time for disposal
    and verification (a holiday does not make them look long)."""
    cells = []
    for kind in CLOCK_KINDS:
        found = row["durations"].get(kind) or {}
        cells.append(
            {
                "kind": kind,
                "label": STAGE_NAMES[kind],
                "working": found.get("measure") == "working",
                "mean": duration_text(found.get("mean_s")),
                "median": duration_text(found.get("median_s")),
                "p90": duration_text(found.get("p90_s")),
            }
        )
    return cells


def named_counts(counts: dict, names: dict) -> list[tuple[str, int]]:
    """Non-zero counts with their readable names, most first."""
    found = [(str(names.get(key, key)), n) for key, n in (counts or {}).items() if n]
    return sorted(found, key=lambda item: (-item[1], item[0]))


def category_names(codes) -> dict:
    """Category code → "E9901 暴露垃圾" for the report's counts by category."""
    found = Category.objects.filter(code__in=list(codes or ())).values_list("code", "minor_name")
    return {code: f"{code} {name}" for code, name in found}
