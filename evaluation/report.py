"""An evaluation as a table, CSV, XLSX or JSON, and the monthly report of one unit (月度考核报告).

The same flat columns serve the CSV and the XLSX sheets, so that a spreadsheet made from either
reads alike; rates are in %, empty where there is no data (never 0).
"""

import csv
import io
import json
from datetime import date

from django.core.serializers.json import DjangoJSONEncoder
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from .indicators import CLOCK_KINDS, SOURCES, STAGES, Period
from .scores import SCOREABLE
from .selectors import Evaluation, evaluate

FORMATS = ("table", "csv", "xlsx", "json")
RATES = (*SCOREABLE, "punctuality_rate")
HEAD = ("rank", "key", "name", "status", "score", "grade", "rank_change", "board")
COUNTS = ("reported", "filed", "closed", "due_to_close")
#: The short table printed in a terminal.
TABLE = (
    *HEAD,
    "reported",
    "due_to_close",
    "closure_rate",
    "on_time_disposal_rate",
    "rework_rate",
)


def flat_row(unit: dict) -> dict:
    """One unit of ``Evaluation.as_json()`` as flat columns."""
    out = {
        "rank": unit["rank"],
        "key": unit["unit"]["key"],
        "name": unit["unit"]["name"],
        "status": unit["status"],
        "score": unit["score"],
        "grade": unit["grade"],
        "rank_change": unit["rank_change"],
        "board": unit["board"],
        "previous_score": unit["previous_score"],
        "previous_rank": unit["previous_rank"],
    }
    counts = unit["counts"]
    for name in COUNTS:
        out[name] = counts.get(name, 0)
    indicators = unit["indicators"]
    for name in RATES:
        out[name] = indicators[name]["value"] if name in indicators else None
    for name in SOURCES:
        out[f"source_{name}"] = counts.get("by_source", {}).get(name, 0)
    for name in STAGES:
        out[f"stage_{name}"] = counts.get("by_stage", {}).get(name, 0)
    durations = unit["durations"]
    for kind in CLOCK_KINDS:
        for stat in ("mean_s", "median_s", "p90_s"):
            out[f"{kind}_{stat}"] = durations[kind][stat] if kind in durations else None
    return out


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def as_table(evaluation: Evaluation) -> str:
    """A plain-text table for the terminal (the most-read columns)."""
    data = evaluation.as_json()
    rows = [[_cell(flat_row(u)[c]) for c in TABLE] for u in data["units"]]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(TABLE)]
    lines = [
        f"{data['by_label']}: {data['period']['from'][:10]} – {data['period']['to'][:10]} "
        "(end excluded)",
        "  ".join(c.ljust(w) for c, w in zip(TABLE, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    if not rows:
        lines.append("(no units of this kind)")
    return "\n".join(lines) + "\n"


def as_csv(evaluation: Evaluation) -> str:
    units = evaluation.as_json()["units"]
    out = io.StringIO()
    rows = [flat_row(u) for u in units]
    columns = list(rows[0]) if rows else list(HEAD)
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_json(evaluation: Evaluation) -> str:
    return json.dumps(evaluation.as_json(), ensure_ascii=False, indent=1, cls=DjangoJSONEncoder)


def _sheet(book: Workbook, title: str, rows: list[dict]) -> None:
    """A sheet of flat rows (``_colour`` keys are not columns: they colour the grade)."""
    sheet = book.create_sheet(title)
    columns = [c for c in rows[0] if not c.startswith("_")] if rows else ["(no units)"]
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[c] for c in columns])
    sheet.freeze_panes = "D2"
    for i, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(8, min(28, len(name) + 2))
    _colour_grades(sheet, rows)


def _coloured_rows(units: list[dict]) -> list[dict]:
    return [{**flat_row(u), "_colour": u["grade_colour"]} for u in units]


def as_xlsx(evaluation: Evaluation) -> bytes:
    """A workbook: the ranking with every indicator (grades in their colours), and the
    weights it was scored with."""
    book = Workbook()
    book.remove(book.active)
    _sheet(book, "evaluation", _coloured_rows(evaluation.as_json()["units"]))
    weights = book.create_sheet("weights")
    weights.append(["indicator", "weight"])
    for name, weight in evaluation.weights["weights"].items():
        weights.append([name, weight])
    weights.append(["volume_max", evaluation.weights["volume_max"]])
    period = evaluation.period.as_json()
    weights.append(["period", f"{period['from']} – {period['to']} (end excluded)"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _colour_grades(sheet, rows: list[dict]) -> None:
    header = [c.value for c in sheet[1]]
    if "grade" not in header:
        return
    column = header.index("grade") + 1
    for i, row in enumerate(rows, start=2):
        if row.get("_colour"):
            cell = sheet.cell(row=i, column=column)
            cell.fill = PatternFill("solid", fgColor=row["_colour"].lstrip("#"))
            cell.font = Font(bold=True, color="000000" if row["grade"] == "C" else "FFFFFF")


def render(evaluation: Evaluation, fmt: str) -> bytes:
    """The evaluation in ``fmt`` (one of ``FORMATS``) as bytes."""
    if fmt == "table":
        return as_table(evaluation).encode()
    if fmt == "csv":
        return as_csv(evaluation).encode("utf-8-sig")  # a BOM, so that Excel reads UTF-8
    if fmt == "json":
        return as_json(evaluation).encode()
    if fmt == "xlsx":
        return as_xlsx(evaluation)
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def month_period(month: date) -> Period:
    """The calendar month holding ``month``."""
    first = month.replace(day=1)
    following = (
        date(first.year + 1, 1, 1) if first.month == 12 else first.replace(month=first.month + 1)
    )
    return Period.from_dates(first, following)


def months_back(month: date, n: int) -> list[date]:
    """The ``n`` months ending with ``month`` (first days), oldest first."""
    out, year, m = [], month.year, month.month
    for _ in range(n):
        out.append(date(year, m, 1))
        year, m = (year, m - 1) if m > 1 else (year - 1, 12)
    return out[::-1]


TREND_MONTHS = 6


def monthly_report_xlsx(
    kind: str, month: date, *, key: str | None, scope=None, only=None, missing_ok: bool = True
) -> bytes:
    """月度考核报告: the month's ranking of every unit of ``kind`` (or only ``key``), each unit's
    indicators one per line, and the last six months' trend of score and main rates.
    ``LookupError`` when ``key`` names no unit the caller may see (unless ``missing_ok``)."""
    period = month_period(month)
    evaluation = evaluate(kind, period, scope=scope, only=only)
    units = evaluation.as_json()["units"]
    if key is not None:
        units = [u for u in units if u["unit"]["key"] == key]
        if not units and not missing_ok:
            raise LookupError(key)
    book = Workbook()
    book.remove(book.active)
    _sheet(book, "ranking", _coloured_rows(units))
    detail = book.create_sheet("indicators")
    detail.append(["unit", "indicator", "value (%)", "numerator", "denominator"])
    for unit in units:
        for name, item in unit["indicators"].items():
            detail.append(
                [unit["unit"]["key"], name, item["value"], item["numerator"], item["denominator"]]
            )
    trend = book.create_sheet("trend")
    trend.append(["month", "unit", "score", "grade", "closure_rate", "on_time_disposal_rate"])
    keys = {u["unit"]["key"] for u in units}
    for first in months_back(month, TREND_MONTHS):
        past = evaluate(kind, month_period(first), scope=scope, only=only, with_previous=False)
        for unit in past.as_json()["units"]:
            if unit["unit"]["key"] in keys:
                trend.append(
                    [
                        first.strftime("%Y-%m"),
                        unit["unit"]["key"],
                        unit["score"],
                        unit["grade"],
                        unit["indicators"].get("closure_rate", {}).get("value"),
                        unit["indicators"].get("on_time_disposal_rate", {}).get("value"),
                    ]
                )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
