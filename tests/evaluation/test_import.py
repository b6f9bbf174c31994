"""Imported history (import_cases with the archive's own timestamps) is evaluated like live
cases: the clock rows the importer derives carry the same outcomes.

Archive (all in the west community C1, category E9901, 4 working hours; period Sep–Oct 2026):

- I1 30 Sep 16:00 reported, 16:02 filed, 16:02:30 dispatched, 16:10 arrived, 8 Oct 10:00
  handled (the deadline, counted over the National Day holiday, is 8 Oct 10:32:30: on time),
  10:30 verified, 10:40 closed;
- I2 22 Sep 09:00 reported, 09:02 filed, 09:10 voided (作废);
- I3 15 Sep 09:00 reported, 09:03 filed, 09:03:30 dispatched, 09:10 arrived, 17:00 handled
  (due 15:03:30: late; the archive says 否 too), 17:30 verified, 17:40 closed;
- I4 23 Sep 09:00 reported, 09:10 filed (late), 09:10:30 dispatched, still open.
"""

import csv
from datetime import date

import pytest

from cases.archive import archive_import, mapping_parse
from evaluation.indicators import Period
from evaluation.selectors import evaluate
from tests.factories import CategoryFactory, lonlat, small_district

pytestmark = pytest.mark.django_db

COLUMNS = (
    "id", "category", "source", "lon", "lat", "reported_at", "filed_at", "dispatched_at",
    "arrived_at", "handled_at", "verified_at", "closed_at", "voided_at", "on_time", "outcome",
)  # fmt: skip
ROWS = [
    ("I1", "2026-09-30 16:00:00", "2026-09-30 16:02:00", "2026-09-30 16:02:30",
     "2026-09-30 16:10:00", "2026-10-08 10:00:00", "2026-10-08 10:30:00",
     "2026-10-08 10:40:00", "", "", "closed"),
    ("I2", "2026-09-22 09:00:00", "2026-09-22 09:02:00", "", "", "", "", "",
     "2026-09-22 09:10:00", "", "void"),
    ("I3", "2026-09-15 09:00:00", "2026-09-15 09:03:00", "2026-09-15 09:03:30",
     "2026-09-15 09:10:00", "2026-09-15 17:00:00", "2026-09-15 17:30:00",
     "2026-09-15 17:40:00", "", "否", "closed"),
    ("I4", "2026-09-23 09:00:00", "2026-09-23 09:10:00", "2026-09-23 09:10:30", "", "", "",
     "", "", "", "open"),
]  # fmt: skip


@pytest.fixture
def imported(tmp_path):
    small_district()
    category = CategoryFactory(code="E9901")
    lon, lat = lonlat(50, 50)
    path = tmp_path / "archive.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for ident, *times, on_time, outcome in ROWS:
            writer.writerow([ident, "E9901", "hotline", lon, lat, *times, on_time, outcome])
    mapping = mapping_parse(
        {
            "file": {"timezone": "Asia/Shanghai"},
            "columns": {c: c for c in COLUMNS},
            "values": {"on_time": {"否": False, "是": True}},
        }
    )
    report = archive_import(path=path, mapping=mapping)
    assert report.ok and report.imported == 4, report.lines()
    return category


def test_imported_history_is_evaluated_like_live_cases(imported):
    period = Period.from_dates(date(2026, 9, 1), date(2026, 11, 1))
    rows = evaluate("department", period).as_json()["units"]
    row = next(r for r in rows if r["unit"]["key"] == imported.department.code)
    values = {name: item["value"] for name, item in row["indicators"].items()}
    assert row["counts"]["reported"] == 4 and row["counts"]["filed"] == 4
    assert row["counts"]["closed"] == 2 and row["counts"]["due_to_close"] == 3
    assert values["accurate_filing_rate"] == 75.0
    assert values["closure_rate"] == 66.67
    assert values["on_time_closure_rate"] == 33.33
    assert values["on_time_disposal_rate"] == 33.33
    assert values["on_time_filing_rate"] == 75.0
    assert values["on_time_dispatch_rate"] == 100.0  # I2's dispatch clock was cancelled
    assert values["on_time_verification_rate"] == 100.0
    assert values["on_time_feedback_rate"] is None  # archives have no video feedback
    assert row["durations"]["disposal"]["median_s"] == pytest.approx((12450 + 21390) / 2)
