"""``manage.py import_cases``: a historical archive (GBK CSV, GCJ-02 points) → historical cases.

Uses the small hand-drawn district of tests/factories.py: (40, 145) lies in the west community's
south grid 410199001001002, inside frontage zone F1 and jurisdiction zone J1; (300, 200) in the
east community's north grid 410199001002001, in J1 only.
"""

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.core.management import CommandError, call_command

from cases.archive import FIELDS, ArchiveError, archive_import, mapping_load, mapping_parse
from cases.models import Case, CaseEvent
from gridmap.crs import wgs84_to_gcj02
from tests.factories import CategoryFactory, DepartmentFactory, lonlat, small_district

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = [
    "案卷编号", "问题小类", "处置部门", "问题来源", "经度", "纬度", "坐标系", "问题地址",
    "问题描述", "上报时间", "立案时间", "派遣时间", "到场时间", "处置时间", "核查时间",
    "结案时间", "处置截止时间", "是否按期", "案件状态",
]  # fmt: skip

MAPPING = {
    "file": {"encoding": "gbk", "timezone": "Asia/Shanghai"},
    "columns": {
        "id": "案卷编号",
        "category": "问题小类",
        "department": "处置部门",
        "source": "问题来源",
        "lon": "经度",
        "lat": "纬度",
        "srs": "坐标系",
        "address": "问题地址",
        "description": "问题描述",
        "reported_at": "上报时间",
        "filed_at": "立案时间",
        "dispatched_at": "派遣时间",
        "arrived_at": "到场时间",
        "handled_at": "处置时间",
        "verified_at": "核查时间",
        "closed_at": "结案时间",
        "deadline": "处置截止时间",
        "on_time": "是否按期",
        "outcome": "案件状态",
    },
    "values": {
        "category": {"乱扔垃圾": "E9901", "出店经营": "E9902"},
        "department": {"人居环境办公室": "D92"},
        "source": {"12345热线": "hotline", "监督员上报": "inspector"},
        "outcome": {"已结案": "closed", "在办": "open", "不予立案": "rejected", "作废": "void"},
        "srs": {"高德": "gcj02", "GPS": "4326"},
    },
    "defaults": {"srs": "gcj02", "source": "hotline"},
}


def gcj(x: float, y: float) -> tuple[str, str]:
    """A local point as GCJ-02 text, the way AMap-based archives store it."""
    lon, lat = wgs84_to_gcj02(*lonlat(x, y))
    return f"{float(lon):.8f}", f"{float(lat):.8f}"


def wgs(x: float, y: float) -> tuple[str, str]:
    lon, lat = lonlat(x, y)
    return f"{lon:.8f}", f"{lat:.8f}"


def row(ident, category="乱扔垃圾", *, at=("2024-05-01 08:00",), where=None, srs="高德", **kw):
    """One archive row: times in loop order (reported, filed, dispatched, arrived, handled,
    verified, closed)."""
    lon, lat = where if where is not None else gcj(40, 145)
    times = list(at) + [""] * (7 - len(at))
    return [
        ident, category, kw.get("department", ""), kw.get("source", "12345热线"), lon, lat, srs,
        kw.get("address", "经开区第一大街"), kw.get("description", "路边有垃圾"), *times,
        kw.get("deadline", ""), kw.get("on_time", ""), kw.get("outcome", ""),
    ]  # fmt: skip


FULL_LOOP = (
    "2024-05-01 08:00:00",
    "2024-05-01 08:03:00",
    "2024-05-01 08:04:00",
    "2024-05-01 08:12:00",
    "2024-05-01 09:00:00",
    "2024-05-01 09:30:00",
    "2024-05-01 10:00:00",
)
GOOD = [
    # Spreadsheet row 2: the whole loop, closed on time; department from the category.
    row("A001", at=FULL_LOOP, deadline="2024-05-01 12:00", on_time="是", outcome="已结案"),
    # 3: still open after dispatch; WGS-84 point; our own category code; a mapped department.
    row(
        "A002",
        "E9902",
        at=FULL_LOOP[:3],
        where=wgs(300, 200),
        srs="GPS",
        department="人居环境办公室",
        source="监督员上报",
        outcome="在办",
    ),
    # 4: not filed (不予立案): the filing time is the rejection's.
    row("A003", at=("2024-05-02 10:00", "2024-05-02 10:05"), outcome="不予立案"),
    # 5: void (作废) after dispatch, at the closing time.
    row(
        "A004",
        at=("2024/05/03 09:00", "", "2024/05/03 09:10", "", "", "", "2024/05/04 09:00"),
        outcome="作废",
    ),
    # 6: closed (结案) by its verification alone (核查结案): the close takes its time.
    row("A005", "出店经营", at=(*FULL_LOOP[:5], "2024-05-01 11:00"), outcome="已结案"),
]
BAD = {
    # row number → (row, what the reason says)
    7: (row("B001", "乱扔烟头"), "unknown category '乱扔烟头'"),
    8: (row("B002", department="不存在的部门"), "unknown department '不存在的部门'"),
    9: (row("B003", where=("", "")), "no coordinates"),
    10: (row("B004", where=("abc", "34.6")), "not numbers"),
    11: (row("B005", where=("116.40", "39.90")), "outside the district"),
    12: (row("B006", where=gcj(40, 145)[::-1]), "inside with lon and lat swapped"),
    13: (
        row("B007", at=("2024-05-01 08:00", "2024-05-01 09:00", "2024-05-01 08:30")),
        "dispatched_at 2024-05-01T08:30:00+08:00 is before filed_at",
    ),
    14: (row("B008", at=("2099-01-01 08:00",)), "lies in the future"),
    15: (row("B009"), "appears more than once in the file (rows 15, 16)"),
    16: (row("B009"), "appears more than once in the file (rows 15, 16)"),
    17: (row("B010", at=("2024-02-30 10:00",)), "is not a time"),
}


@pytest.fixture
def district():
    area = small_district()
    area["d1"] = DepartmentFactory(code="D91", name="市政测试办")
    area["d2"] = DepartmentFactory(code="D92", name="人居测试办")
    area["garbage"] = CategoryFactory(
        code="E9901", minor_name="测试暴露垃圾", department=area["d1"]
    )
    area["shop"] = CategoryFactory(code="E9902", minor_name="测试店外经营", department=area["d1"])
    return area


def write_archive(tmp_path, rows, *, encoding="gbk", name="archive.csv"):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_bytes(text.getvalue().encode(encoding))
    return path


def write_mapping(tmp_path, mapping=MAPPING):
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    return path


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def every_row(tmp_path):
    return write_archive(tmp_path, GOOD + [r for r, _ in BAD.values()])


def import_cases(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command("import_cases", *map(str, args), stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_an_archive_becomes_historical_cases_with_their_events(district, tmp_path):
    # transaction=True: the import commits, so deferred foreign keys are checked for real.
    path = every_row(tmp_path)
    out = import_cases(path, "--mapping", write_mapping(tmp_path), "--skip-bad")
    assert "imported 5 case(s)" in out
    cases = {c.external_id: c for c in Case.objects.all()}
    assert set(cases) == {"A001", "A002", "A003", "A004", "A005"}
    assert all(c.historical for c in cases.values())

    closed = cases["A001"]
    assert closed.stage == "closed"
    assert closed.source == "hotline"
    assert closed.category == district["garbage"]
    assert closed.department == district["d1"]  # the category's
    assert closed.reported_at == local("2024-05-01 08:00")
    assert closed.closed_at == local("2024-05-01 10:00")
    assert closed.verified_at == local("2024-05-01 09:30")
    assert closed.number == f"20240501{closed.id:07d}"
    assert closed.tracking.startswith("GM") and len(closed.tracking) == 12
    assert closed.description == "路边有垃圾" and closed.address == "经开区第一大街"
    # The GCJ-02 point was turned back into WGS-84 before geocoding.
    assert closed.grid.code == "410199001001002"
    assert closed.community == district["c1"]
    assert closed.subdistrict == district["subdistrict"]
    assert {z.code for z in closed.zones.all()} == {"F1", "J1"}
    events = list(closed.events.order_by("at", "id"))
    assert [(e.kind, e.from_stage, e.to_stage) for e in events] == [
        ("report", "", "reported"),
        ("file", "reported", "registered"),
        ("dispatch", "registered", "dispatched"),
        ("arrive", "dispatched", "on_scene"),
        ("handle", "on_scene", "handled"),
        ("verify", "handled", "handled"),
        ("close", "handled", "closed"),
    ]
    assert [e.at for e in events] == [local(t) for t in FULL_LOOP]
    assert all(e.data["historical"] is True for e in events)
    assert events[0].data["disposal_due_at"] == "2024-05-01T12:00:00+08:00"
    assert events[0].data["disposal_on_time"] is True
    assert events[0].data["archive_row"] == 2
    assert events[0].geom is not None and events[0].geom.equals_exact(closed.geom, 1e-6)

    still_open = cases["A002"]
    assert still_open.stage == "dispatched" and still_open.closed_at is None
    assert still_open.source == "inspector"
    assert still_open.category == district["shop"]
    assert still_open.department == district["d2"]  # mapped from the archive's name
    assert still_open.grid.code == "410199001002001"
    assert {z.code for z in still_open.zones.all()} == {"J1"}
    assert [e.kind for e in still_open.events.all()] == ["report", "file", "dispatch"]

    rejected = cases["A003"]
    assert rejected.stage == "rejected" and rejected.closed_at == local("2024-05-02 10:05")
    assert [(e.kind, e.from_stage, e.to_stage) for e in rejected.events.all()] == [
        ("report", "", "reported"),
        ("reject", "reported", "rejected"),
    ]
    void = cases["A004"]
    assert void.stage == "void"
    assert [(e.kind, e.to_stage) for e in void.events.all()] == [
        ("report", "reported"),
        ("dispatch", "dispatched"),
        ("void", "void"),
    ]
    assert void.events.last().at == local("2024-05-04 09:00")
    verified = cases["A005"]
    assert verified.stage == "closed" and verified.closed_at == local("2024-05-01 11:00")
    *_, verify, close = verified.events.all()
    assert (verify.kind, verify.from_stage, verify.to_stage) == ("verify", "handled", "handled")
    assert verify.data["result"] == "passed"
    assert (close.kind, close.from_stage, close.to_stage) == ("close", "handled", "closed")
    assert close.at == verify.at and close.data["at"] == "verified_at"


@pytest.mark.django_db
def test_every_kind_of_bad_row_is_reported_with_its_row_number(district, tmp_path):
    report = archive_import(
        path=every_row(tmp_path), mapping=mapping_load(write_mapping(tmp_path)), dry_run=True
    )
    by_row: dict[int, list[str]] = {}
    for bad in report.bad:
        by_row.setdefault(bad.row, []).append(bad.reason)
    assert set(by_row) == set(BAD)
    for number, (_, expected) in BAD.items():
        assert any(expected in reason for reason in by_row[number]), (number, by_row[number])
    assert not report.ok and report.bad_rows == len(BAD)
    assert report.imported == len(GOOD)


@pytest.mark.django_db
def test_one_bad_row_means_nothing_is_written(district, tmp_path):
    bad_rows = tmp_path / "bad_rows.csv"
    with pytest.raises(CommandError, match="11 bad row"):
        import_cases(
            every_row(tmp_path), "--mapping", write_mapping(tmp_path), "--report", bad_rows
        )
    assert not Case.objects.exists() and not CaseEvent.objects.exists()
    with open(bad_rows, encoding="utf-8-sig", newline="") as f:
        listed = list(csv.DictReader(f))
    assert {int(r["row"]) for r in listed} == set(BAD)
    unknown = next(r for r in listed if r["row"] == "7")
    assert unknown == {
        "row": "7",
        "id": "B001",
        "column": "category",
        "value": "乱扔烟头",
        "reason": "unknown category '乱扔烟头': add it to values.category in the mapping",
    }


@pytest.mark.django_db
def test_skip_bad_imports_the_good_rows_and_lists_the_others(district, tmp_path):
    bad_rows = tmp_path / "bad_rows.csv"
    out = import_cases(
        every_row(tmp_path), "--mapping", write_mapping(tmp_path), "--skip-bad",
        "--report", bad_rows,
    )  # fmt: skip
    assert Case.objects.count() == len(GOOD)
    assert "row 7 (id B001): unknown category '乱扔烟头'" in out
    assert "11 bad row(s) skipped" in out
    assert bad_rows.exists()


@pytest.mark.django_db
def test_importing_the_same_archive_again_adds_nothing(district, tmp_path):
    path, mapping = write_archive(tmp_path, GOOD), mapping_load(write_mapping(tmp_path))
    first = archive_import(path=path, mapping=mapping)
    assert first.imported == 5 and first.written
    events = CaseEvent.objects.count()
    again = archive_import(path=path, mapping=mapping)
    assert again.existing == 5 and again.imported == 0 and again.ok
    assert Case.objects.count() == 5 and CaseEvent.objects.count() == events
    # A later export with one more case imports only that one.
    later = write_archive(
        tmp_path, [*GOOD, row("A006", at=("2024-06-01 08:00",))], name="later.csv"
    )
    third = archive_import(path=later, mapping=mapping)
    assert (third.existing, third.imported) == (5, 1)
    assert Case.objects.get(external_id="A006").stage == "reported"


@pytest.mark.django_db
def test_a_row_verified_but_not_closed_waits_for_closure(district, tmp_path):
    # No outcome: a verify time without a close time is a case still open at handled, as a
    # live case is between a passed verification and its closure.
    waiting = row("A010", at=FULL_LOOP[:6])
    report = archive_import(
        path=write_archive(tmp_path, [waiting]), mapping=mapping_load(write_mapping(tmp_path))
    )
    assert report.ok, report.lines()
    case = Case.objects.get(external_id="A010")
    assert (case.stage, case.closed_at) == ("handled", None)
    assert case.verified_at == local(FULL_LOOP[5])
    assert [e.kind for e in case.events.all()][-2:] == ["handle", "verify"]


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(district, tmp_path):
    out = import_cases(
        write_archive(tmp_path, GOOD), "--mapping", write_mapping(tmp_path), "--dry-run"
    )
    assert "dry run: 5 case(s) would be imported" in out
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


@pytest.mark.django_db
def test_a_gbk_file_read_as_utf8_says_to_set_the_encoding(district, tmp_path):
    mapping = {**MAPPING, "file": {}}
    with pytest.raises(CommandError, match=r"set file\.encoding"):
        import_cases(write_archive(tmp_path, GOOD), "--mapping", write_mapping(tmp_path, mapping))


@pytest.mark.django_db
def test_an_excel_archive_with_real_dates(district, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "案件"
    sheet.append(["编号", "类别", "经度", "纬度", "上报时间", "结案时间"])
    lon, lat = gcj(300, 200)
    sheet.append([1001, "E9901", float(lon), float(lat), datetime(2024, 5, 1, 8), None])
    sheet.append([1002, "E9901", float(lon), float(lat), datetime(2024, 5, 1, 9), "2024-05-02"])
    path = tmp_path / "archive.xlsx"
    book.save(path)
    mapping = mapping_parse(
        {
            "file": {"sheet": "案件"},
            "columns": {"id": "编号", "category": "类别", "lon": "经度", "lat": "纬度",
                        "reported_at": "上报时间", "closed_at": "结案时间"},
            "defaults": {"source": "public", "srs": "gcj02"},
        }
    )  # fmt: skip
    report = archive_import(path=path, mapping=mapping)
    assert report.ok and report.imported == 2, report.lines()
    open_case, closed = Case.objects.order_by("external_id")
    assert (open_case.external_id, open_case.stage) == ("1001", "reported")
    assert open_case.reported_at == local("2024-05-01 08:00")
    assert (closed.stage, closed.closed_at) == ("closed", local("2024-05-02 00:00"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"columns": {"id": "案卷编号"}}, "columns must name the column of lon, lat"),
        ({"colums": {}}, "unknown key(s) colums"),
        ({"values": {"category": {"乱扔垃圾": "E0000"}}}, "values.category maps to 'E0000'"),
        ({"values": {"department": {"x": "NOPE"}}}, "values.department maps to 'NOPE'"),
        ({"defaults": {"source": "fax"}}, "defaults.source 'fax' is not one of ours"),
        ({"file": {"timezone": "Mars/Olympus"}}, "unknown timezone"),
    ],
)
def test_a_wrong_mapping_is_refused_before_any_row(district, tmp_path, change, message):
    mapping = {**MAPPING, **change}
    with pytest.raises((ArchiveError, CommandError), match=re.escape(message)):
        import_cases(write_archive(tmp_path, GOOD), "--mapping", write_mapping(tmp_path, mapping))
    assert not Case.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad_row", "column", "reason"),
    [
        (
            row("C001", at=FULL_LOOP[:3], outcome="不予立案"),
            "dispatched_at",
            "rejected (不予立案) but the row has dispatched_at",
        ),
        (row("C002", at=FULL_LOOP[:3], outcome="作废"), "outcome", "void (作废) without a time"),
        (row("C003", at=FULL_LOOP[:5], outcome="已结案"), "outcome", "closed (结案) without a"),
        (row("C004", at=FULL_LOOP, outcome="在办"), "closed_at", "still open) but the row has"),
        (row("C005", outcome="挂起"), "outcome", "unknown outcome '挂起'"),
        (row("C006", source="传真"), "source", "unknown source '传真'"),
        (
            row("C007", at=FULL_LOOP[:3], deadline="2024-04-30 08:00"),
            "deadline",
            "deadline lies before reported_at",
        ),
    ],
)
def test_an_outcome_the_times_contradict_is_a_bad_row(district, tmp_path, bad_row, column, reason):
    report = archive_import(
        path=write_archive(tmp_path, [bad_row]),
        mapping=mapping_load(write_mapping(tmp_path)),
        dry_run=True,
    )
    assert [(b.row, b.column) for b in report.bad] == [(2, column)]
    assert reason in report.bad[0].reason


def test_the_documented_example_mapping_is_valid_and_names_every_field():
    example = Path(__file__).resolve().parents[2] / "docs/import_cases_mapping.example.yaml"
    mapping = mapping_load(example)
    assert mapping.encoding == "gbk" and mapping.defaults["srs"] == "gcj02"
    text = example.read_text(encoding="utf-8")
    assert all(f"{name}:" in text for name in FIELDS)


@pytest.mark.django_db
def test_history_gets_clock_rows_like_live_cases(district, tmp_path):
    from cases.models import Clock

    import_cases(every_row(tmp_path), "--mapping", write_mapping(tmp_path), "--skip-bad")

    def clocks(external_id):
        case = Case.objects.get(external_id=external_id)
        return {c.kind: c for c in Clock.objects.filter(case=case)}

    full = clocks("A001")
    assert set(full) == {"filing", "dispatch", "arrival", "disposal", "verification"}
    assert full["filing"].outcome == "met"  # filed after 3 of 5 minutes
    assert full["arrival"].outcome == "met"  # 8 of 10 minutes
    assert full["disposal"].due_at == local("2024-05-01 12:00")  # the archive's deadline
    assert full["disposal"].outcome == "met"  # and its on-time flag
    assert full["disposal"].met_at == local("2024-05-01 09:00")
    open_case = clocks("A002")
    assert open_case["arrival"].outcome == "open"
    assert open_case["arrival"].escalated_at is not None  # overdue long ago: no new alarm
    rejected = clocks("A003")
    assert set(rejected) == {"filing"} and rejected["filing"].outcome == "met"
    voided = clocks("A004")
    assert voided["arrival"].outcome == "cancelled"
