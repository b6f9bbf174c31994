"""``manage.py evaluate``: formats, output files, bad input with a non-zero exit."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db

PERIOD = ["--from", "2026-09-01", "--to", "2026-11-01"]


def run(*args) -> str:
    """The command's output, its messages in English (the source strings)."""
    out = io.StringIO()
    with translation.override("en"):
        call_command("evaluate", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_json_and_table(history):
    data = json.loads(run(*PERIOD, "--by", "community", "--format", "json"))
    assert data["by"] == "community"
    west = next(u for u in data["units"] if u["unit"]["key"] == "410199001001")
    assert west["counts"]["reported"] == 6
    table = run(*PERIOD, "--by", "department")
    lines = table.splitlines()
    assert "rank" in lines[1] and "closure_rate" in lines[1]
    department = history.category.department.code
    first = lines[3].split()
    assert first[:2] == ["1", department] and "83.00" in first and "B" in first
    assert "no cases" in table  # the team's department has none


def test_csv_and_xlsx(history, tmp_path):
    text = run(*PERIOD, "--by", "frontage", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0]["key"] == "F1" and rows[0]["grade"] == "A"
    assert rows[0]["satisfaction_rate"] == ""  # no data, not 0
    out = tmp_path / "inspectors.xlsx"
    call_command(
        "evaluate", *PERIOD, "--by", "inspector", "--format", "xlsx", "--out", str(out),
        stderr=io.StringIO(),
    )  # fmt: skip
    sheet = load_workbook(out)["evaluation"]
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert row["key"] == "insp" and row["grade"] == "D"
    grade_cell = sheet.cell(row=2, column=header.index("grade") + 1)
    assert grade_cell.fill.fgColor.rgb.upper().endswith("C62828")  # D in red


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-10-01", "--to", "2026-09-01", "--by", "team"], "ends .* before it"),
        (["--from", "2026-10-01", "--to", "2026-10-01", "--by", "team"], "is empty"),
        ([*PERIOD, "--by", "street"], "not a unit kind"),
        ([*PERIOD, "--by", "team", "--format", "pdf"], "--format 'pdf' is unknown"),
        ([*PERIOD, "--by", "team", "--format", "xlsx"], "needs --out"),
        (["--from", "2026-13-01", "--to", "2026-10-01", "--by", "team"], "is not a date"),
    ],
)
def test_bad_input_fails_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_a_bad_option_exits_non_zero(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "evaluate", "--from", "2026-10-01", "--to", "2026-09-01",
         "--by", "team"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    # In the deployment's language (zh-hans by default): the dates and the option are named.
    assert "2026-09-01" in result.stderr and "2026-10-01" in result.stderr
    assert "--from" in result.stderr and "Traceback" not in result.stderr
