"""The taxonomy of case categories (案件类别): the shipped file, import and export, the commands,
the admin pages.

The migration loads cases/data/categories.yaml into the test database; departments do not exist
there, so the categories start without a responsible department until ``demo_departments``
creates the demo's five (市政办, 人居办, 综治办, 安全办, 食药监) and they are linked.
"""

import csv
import io
import json
from dataclasses import astuple
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from cases.models import Category, CategoryTimeLimit
from cases.taxonomy import (
    FLAT_COLUMNS,
    SHIPPED,
    categories_export,
    categories_import,
    categories_link_departments,
    read_categories,
)
from gridmap.models import Department, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COMPONENT_CLASSES = Path(settings.BASE_DIR) / "gridmap" / "data" / "component_classes.csv"
ORGANISATION = Path(settings.BASE_DIR) / "fixtures" / "geo" / "organisation.json"
MINGHU_REMIT = {
    "城市精细化管理",
    "餐饮油烟治理",
    "数字化城市管理",
    "养犬治理",
    "大气污染防治",
    "在建工地",
    "渣土清运车辆",
}
EVENT_MAJORS = {
    "01": "市容环境",
    "02": "宣传广告",
    "03": "施工管理",
    "04": "街面秩序",
    "05": "突发事件",
    "06": "其他/扩展",
}
#: The events the issue asks for by name (and the reference file's examples).
REQUIRED_EVENTS = [
    "占道经营",
    "无照经营游商",
    "店外经营",
    "暴露垃圾",
    "建筑垃圾渣土",
    "道路遗撒",
    "渣土车未密闭",
    "渣土车未按规定路线行驶",
    "餐饮油烟",
    "违规养犬",
    "流浪犬",
    "机动车乱停放",
    "非机动车乱停放",
    "非法小广告",
    "违规户外广告",
    "施工围挡不规范",
    "工地扬尘",
    "夜间违规施工",
    "露天焚烧",
    "裸土未覆盖",
    "私搭乱建",
    "道路保洁",
    "绿地保洁",
    "乱堆物堆料",
    "道路积水",
    "树木倒伏",
    "井盖缺失致险情",
]


def shipped_specs():
    specs, report = read_categories(path=SHIPPED)
    assert report.ok, report.lines()
    return {s.code: s for s in specs}


def snapshot() -> tuple[list, list]:
    """Every category and time limit as comparable rows (no ids)."""
    categories = sorted(
        Category.objects.values_list(
            "code", "kind", "major_code", "major_name", "minor_code", "minor_name",
            "public_name", "filing_criterion", "closing_criterion", "department__code",
            "component_class__major_code", "component_class__minor_code",
            "duplicate_radius_m", "duplicate_window_h", "remit", "active",
        )
    )  # fmt: skip
    limits = sorted(
        CategoryTimeLimit.objects.values_list(
            "category__code", "condition", "urgent", "value", "unit", "note"
        )
    )
    return categories, limits


@pytest.fixture
def demo_departments():
    """The demo's five departments (fixtures/geo/organisation.json), without the rest of it."""
    org = json.loads(ORGANISATION.read_text("utf-8"))
    return {
        d["name"]: Department.objects.get_or_create(code=d["code"], defaults={"name": d["name"]})[0]
        for d in org["departments"]
    }


def entry(**overrides) -> dict:
    """A valid new event category (E0699), changed by ``overrides`` (None removes a field)."""
    base = {
        "code": "E0699",
        "major_name": "其他/扩展",
        "minor_name": "测试问题",
        "public_name": "测试",
        "department": "人居办",
        "filing_criterion": "有问题",
        "closing_criterion": "已解决",
        "time_limits": [{"value": 4, "unit": "working_hours"}],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def write_yaml(tmp_path, entries: list[dict], name: str = "categories.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"categories": entries}, allow_unicode=True), "utf-8")
    return path


# --- The shipped file ---------------------------------------------------------------------------


def test_the_shipped_file_covers_every_component_class():
    specs = shipped_specs()
    with COMPONENT_CLASSES.open(encoding="utf-8") as f:
        classes = list(csv.DictReader(f))
    for row in classes:
        code = f"C{row['major_code']}{row['minor_code']}"
        spec = specs[code]
        assert spec.kind == "component"
        assert spec.component_class == row["major_code"] + row["minor_code"]
        assert (spec.major_name, spec.minor_name) == (row["major_name"], row["minor_name"])
    components = [s for s in specs.values() if s.kind == "component"]
    assert len(components) == len(classes)


def test_the_shipped_file_has_the_events_the_centre_handles():
    specs = shipped_specs()
    events = {s.minor_name: s for s in specs.values() if s.kind == "event"}
    missing = [name for name in REQUIRED_EVENTS if name not in events]
    assert not missing
    for spec in events.values():
        assert spec.major_name == EVENT_MAJORS[spec.major_code], spec.code
    assert 80 <= len(specs) <= 120
    # Every event major class has subclasses; 突发事件 count in minutes.
    assert {s.major_code for s in events.values()} == set(EVENT_MAJORS)
    for spec in events.values():
        if spec.major_code == "05":
            assert all(t.unit in ("minutes", "working_hours") for t in spec.time_limits)
            assert any(t.urgent and t.unit == "minutes" for t in spec.time_limits), spec.code


def test_the_shipped_file_carries_the_published_examples():
    specs = {s.minor_name: s for s in shipped_specs().values()}

    def limits(name):
        return {(t.condition, t.urgent): (t.value, t.unit) for t in specs[name].time_limits}

    assert limits("暴露垃圾")[("any", False)] == (4, "working_hours")
    road = limits("道路保洁")
    assert road[("main_road", False)] == (2, "working_hours")
    assert road[("back_street", False)] == (5, "working_hours")
    assert limits("私搭乱建")[("any", False)] == (4, "working_hours")
    assert limits("井盖缺失致险情")[("any", True)][1] == "minutes"
    lamp = specs["路灯"]
    assert (lamp.public_name, lamp.duplicate_radius_m, lamp.duplicate_window_h) == (
        "路灯不亮",
        20,
        72,
    )
    fumes = specs["餐饮油烟"]
    assert (fumes.duplicate_radius_m, fumes.duplicate_window_h) == (30, 12)
    assert {"餐饮油烟治理", "大气污染防治"} <= set(fumes.remit)
    assert specs["占道经营"].public_name == "路边摆摊"
    assert "井盖破损或丢失" in specs["上水井盖"].public_name


def test_the_shipped_file_is_complete_and_names_known_departments_and_remits():
    org = json.loads(ORGANISATION.read_text("utf-8"))
    names = {d["name"] for d in org["departments"]}
    tags = set()
    for spec in shipped_specs().values():
        assert spec.public_name and spec.filing_criterion and spec.closing_criterion, spec.code
        assert spec.department in names, spec.code
        assert any(t.condition == "any" and not t.urgent for t in spec.time_limits), spec.code
        tags |= set(spec.remit)
    assert tags == MINGHU_REMIT


# --- The migration and linking departments ------------------------------------------------------


def test_the_migration_loaded_the_taxonomy():
    specs = shipped_specs()
    categories = {c.code: c for c in Category.objects.prefetch_related("time_limits")}
    assert set(categories) >= set(specs)
    for code, spec in specs.items():
        category = categories[code]
        assert (category.minor_name, category.public_name, category.active) == (
            spec.minor_name,
            spec.public_name,
            True,
        )
        stored = {
            (t.condition, t.urgent, t.value, t.unit, t.note) for t in category.time_limits.all()
        }
        assert stored == set(map(astuple, spec.time_limits)), code
        if spec.kind == "component":
            assert category.component_class.code == spec.component_class


def test_after_linking_the_demo_departments_every_category_has_the_four_fields(
    demo_departments,
):
    specs = shipped_specs()
    Category.objects.filter(code__in=specs).update(department=None)
    assert categories_link_departments() == len(specs)
    for category in Category.objects.filter(code__in=specs).prefetch_related("time_limits"):
        assert category.filing_criterion, category.code  # 立案标准
        assert category.closing_criterion, category.code  # 结案标准
        assert category.department == demo_departments[specs[category.code].department]  # 责任单位
        assert any(  # 处置时限
            t.condition == "any" and not t.urgent for t in category.time_limits.all()
        ), category.code
    # Departments already set are kept.
    street = Category.objects.get(minor_name="占道经营")
    street.department = demo_departments["综治办"]
    street.save()
    assert categories_link_departments() == 0
    street.refresh_from_db()
    assert street.department.name == "综治办"


def test_importing_the_shipped_file_links_departments_by_name(demo_departments):
    Category.objects.update(department=None)
    report = categories_import(path=SHIPPED)
    assert report.ok and report.written and not report.warnings, report.lines()
    assert report.updated == report.categories and report.created == 0
    assert Category.objects.get(code="E0108").department.name == "食药监"
    again = categories_import(path=SHIPPED)
    assert (again.updated, again.unchanged) == (0, again.categories)


def test_a_department_is_found_by_code_too_and_a_missing_one_is_a_warning(
    tmp_path, demo_departments
):
    path = write_yaml(
        tmp_path,
        [entry(department="D03"), entry(code="E0698", minor_name="测试二", department="城管局")],
    )
    report = categories_import(path=path)
    assert report.ok and report.written
    assert Category.objects.get(code="E0699").department.name == "综治办"
    assert Category.objects.get(code="E0698").department is None
    [warning] = report.warnings
    assert "E0698" in str(warning) and "城管局" in str(warning)

    strict = categories_import(path=path, strict=True)
    assert not strict.ok and "E0698" in str(strict.errors[0])


# --- Round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "csv", "xlsx"])
def test_export_then_import_changes_nothing(fmt, demo_departments):
    categories_import(path=SHIPPED)
    # A few things the shipped file does not have: an inactive category, a fraction, a category
    # whose department is missing.
    Category.objects.filter(code="E0608").update(active=False)
    CategoryTimeLimit.objects.filter(category__code="E0102", condition="any").update(value=1.5)
    Category.objects.filter(code="C0605").update(department=None, remit="")
    before = snapshot()
    exported = categories_export(format=fmt)
    report = categories_import(data=exported, format=fmt)
    assert report.ok, report.lines()
    assert (report.created, report.updated, report.deactivated) == (0, 0, 0)
    assert report.unchanged == Category.objects.count()
    assert snapshot() == before
    if fmt != "xlsx":  # a workbook carries its creation time
        assert categories_export(format=fmt) == exported


def test_the_csv_layout_has_one_row_per_time_limit():
    rows = list(csv.DictReader(io.StringIO(categories_export(format="csv").decode("utf-8-sig"))))
    assert list(rows[0]) == FLAT_COLUMNS
    lamp = [r for r in rows if r["code"] == "C0110"]
    assert {(r["condition"], r["urgent"], r["value"], r["unit"]) for r in lamp} == {
        ("any", "false", "2", "working_days"),
        ("main_road", "false", "1", "working_days"),
        ("any", "true", "2", "working_hours"),
    }
    assert {r["component_class"] for r in lamp} == {"0110"}


def test_the_yaml_export_reads_like_the_shipped_file():
    exported = yaml.safe_load(categories_export(format="yaml"))
    shipped = yaml.safe_load(SHIPPED.read_text("utf-8"))
    # No departments in the test database: the export names none.
    for entry_ in shipped["categories"]:
        entry_["department"] = ""
    assert exported == shipped


# --- Bad files ----------------------------------------------------------------------------------


BAD = {
    "bad code": ([entry(code="X0101")], "X0101"),
    "code too short": ([entry(code="E061")], "E061"),
    "unknown unit": ([entry(time_limits=[{"value": 4, "unit": "hours"}])], "E0699"),
    "negative value": ([entry(time_limits=[{"value": -4, "unit": "working_hours"}])], "E0699"),
    "zero value": ([entry(time_limits=[{"value": 0, "unit": "minutes"}])], "E0699"),
    "unknown condition": (
        [entry(time_limits=[{"value": 4, "unit": "minutes", "condition": "highway"}])],
        "E0699",
    ),
    "no limit for any": (
        [entry(time_limits=[{"value": 4, "unit": "minutes", "condition": "main_road"}])],
        "E0699",
    ),
    "two limits for the same condition": (
        [entry(time_limits=[{"value": 4, "unit": "minutes"}, {"value": 5, "unit": "minutes"}])],
        "E0699",
    ),
    "unknown component class": (
        [entry(code="C0199", major_name="公用设施", component_class="0199")],
        "C0199",
    ),
    "event with a component class": ([entry(component_class="0101")], "E0699"),
    "kind disagrees with the code": ([entry(kind="component")], "E0699"),
    "major code disagrees with the code": ([entry(major_code="05")], "E0699"),
    "duplicate code": ([entry(), entry(minor_name="又一个")], "E0699"),
    "unknown field": ([entry(filing_critrion="typo")], "E0699"),
    "bad duplicate radius": ([entry(duplicate_radius_m="near")], "E0699"),
    "no minor name": ([entry(minor_name=None)], "E0699"),
}


@pytest.mark.parametrize("entries, code", BAD.values(), ids=BAD.keys())
def test_a_bad_file_names_the_code_and_writes_nothing(tmp_path, entries, code, demo_departments):
    # A valid change comes first: it must not be written either.
    changed = entry(code="E0102", major_name="市容环境", minor_name="暴露垃圾", public_name="改")
    before = snapshot()
    report = categories_import(path=write_yaml(tmp_path, [changed, *entries]))
    assert not report.ok and not report.written
    assert any(code in str(p) for p in report.errors), report.lines()
    assert "nothing was written" in report.summary()
    assert snapshot() == before


def test_a_bad_csv_row_is_named(tmp_path):
    rows = list(csv.reader(io.StringIO(categories_export(format="csv").decode("utf-8-sig"))))
    header = rows[0]
    lamp = [i for i, r in enumerate(rows) if r[0] == "C0110"]
    rows[lamp[1]][header.index("unit")] = "hour"
    rows[lamp[2]][header.index("public_name")] = "另一个名字"
    path = tmp_path / "categories.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    before = snapshot()
    report = categories_import(path=path)
    assert not report.ok
    errors = [str(p) for p in report.errors]
    assert any(f"row {lamp[1] + 1}" in e and "C0110" in e and "'hour'" in e for e in errors)
    assert any(f"row {lamp[2] + 1}" in e and "public_name" in e for e in errors)
    assert snapshot() == before


def test_an_unreadable_file_is_reported(tmp_path):
    path = tmp_path / "categories.yaml"
    path.write_text("categories: [\n", "utf-8")
    report = categories_import(path=path)
    assert not report.ok and "YAML" in str(report.errors[0])
    other = tmp_path / "categories.txt"
    other.write_text("x", "utf-8")
    assert ".txt" in str(categories_import(path=other).errors[0])


# --- The commands -------------------------------------------------------------------------------


def test_import_command_dry_run_replace_and_errors(tmp_path, demo_departments):
    extra = write_yaml(tmp_path, [entry()], "extra.yaml")
    call_command("import_categories", str(extra), stdout=io.StringIO())
    assert Category.objects.get(code="E0699").active

    out = io.StringIO()
    call_command("import_categories", str(SHIPPED), "--replace", "--dry-run", stdout=out)
    assert "1 deactivated" in out.getvalue() and "dry run" in out.getvalue()
    assert Category.objects.get(code="E0699").active

    out = io.StringIO()
    call_command("import_categories", str(SHIPPED), "--replace", stdout=out)
    assert "1 deactivated" in out.getvalue()
    withdrawn = Category.objects.get(code="E0699")  # kept: cases may refer to it
    assert not withdrawn.active
    assert Category.objects.filter(active=True).count() == len(shipped_specs())

    bad = write_yaml(tmp_path, [entry(code="E0697", time_limits=[{"value": 4, "unit": "x"}])])
    before = snapshot()
    with pytest.raises(CommandError, match="E0697"):
        call_command("import_categories", str(bad), stdout=io.StringIO())
    assert snapshot() == before


def test_import_command_strict(tmp_path):
    # The test database has no departments: every named department is missing.
    path = write_yaml(tmp_path, [entry()])
    with pytest.raises(CommandError, match="E0699"):
        call_command("import_categories", str(path), "--strict", stdout=io.StringIO())
    assert not Category.objects.filter(code="E0699").exists()


@pytest.mark.parametrize("suffix", [".yaml", ".csv", ".xlsx"])
def test_export_command_writes_the_format_of_the_extension(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    call_command("export_categories", str(path), stdout=io.StringIO())
    report = categories_import(path=path, dry_run=True)
    assert report.ok and report.unchanged == Category.objects.count(), report.lines()


def test_export_command_refuses_an_unknown_extension(tmp_path):
    with pytest.raises(CommandError, match=r"\.json"):
        call_command("export_categories", str(tmp_path / "out.json"))


# --- The admin ----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    user = UserFactory(username="boss", role=User.Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_the_admin_imports_after_a_dry_run(admin_client, tmp_path):
    changelist = admin_client.get(reverse("admin:cases_category_changelist"))
    assert changelist.status_code == 200
    assert reverse("admin:cases_category_import").encode() in changelist.content
    url = reverse("admin:cases_category_import")
    assert admin_client.get(url).status_code == 200

    changed = entry(
        code="E0102", major_name="市容环境", minor_name="暴露垃圾", public_name="垃圾堆"
    )
    content = yaml.safe_dump({"categories": [changed, entry()]}, allow_unicode=True).encode()
    upload = SimpleUploadedFile("categories.yaml", content)
    checked = admin_client.post(url, {"file": upload, "check": "1"})
    assert checked.status_code == 200
    summary = checked.context["report"].summary()
    assert "1 new, 1 updated" in summary and "dry run" in summary
    assert b'data-testid="import-confirm"' in checked.content
    assert Category.objects.get(code="E0102").public_name == "垃圾没人清"

    token = checked.context["token"]
    done = admin_client.post(url, {"upload": token, "confirm": "1"})
    assert done.status_code == 200 and done.context["done"]
    assert Category.objects.get(code="E0102").public_name == "垃圾堆"
    assert Category.objects.filter(code="E0699").exists()
    assert not (tmp_path / "media" / "imports" / "categories" / token).exists()


def test_the_admin_shows_a_bad_file_and_offers_no_import(admin_client):
    url = reverse("admin:cases_category_import")
    content = yaml.safe_dump({"categories": [entry(code="E0699", time_limits=[])]}).encode()
    response = admin_client.post(url, {"file": SimpleUploadedFile("c.yaml", content), "check": "1"})
    assert response.status_code == 200
    assert "E0699" in response.content.decode()
    assert b'data-testid="import-confirm"' not in response.content
    assert not Category.objects.filter(code="E0699").exists()


def test_the_admin_import_page_is_for_those_who_may_change_categories(client):
    operator = UserFactory(username="op", role=User.Role.OPERATOR, is_staff=True)
    client.force_login(operator)
    assert client.get(reverse("admin:cases_category_import")).status_code == 403


def test_the_admin_exports_selected_and_all_categories(admin_client):
    selected = Category.objects.filter(code__in=["C0110", "E0102"])
    response = admin_client.post(
        reverse("admin:cases_category_changelist"),
        {"action": "export_csv", "_selected_action": [c.pk for c in selected]},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r["code"] for r in rows} == {"C0110", "E0102"}

    everything = admin_client.get(reverse("admin:cases_category_export", args=["yaml"]))
    assert len(yaml.safe_load(everything.content)["categories"]) == Category.objects.count()
    xlsx = admin_client.get(reverse("admin:cases_category_export", args=["xlsx"]))
    assert categories_import(data=xlsx.content, format="xlsx", dry_run=True).ok


def test_the_admin_filters_by_major_class_and_remit(admin_client):
    url = reverse("admin:cases_category_changelist")
    events = admin_client.get(url, {"major": "event:01"})
    assert {c.major_name for c in events.context["cl"].result_list} == {"市容环境"}
    assert {c.kind for c in events.context["cl"].result_list} == {"event"}
    dogs = admin_client.get(url, {"remit": "养犬治理"})
    assert {c.minor_name for c in dogs.context["cl"].result_list} == {"违规养犬", "流浪犬"}


@pytest.mark.django_db
def test_the_admin_shows_a_cases_record_read_only(client):
    from cases.services import case_report
    from tests.factories import CategoryFactory, UserFactory, lonlat, small_district

    small_district()
    CategoryFactory(code="E9901")
    lon, lat = lonlat(50, 50)
    case = case_report(source="hotline", category_code="E9901", lon=lon, lat=lat)
    client.force_login(UserFactory(username="root", role="admin", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200
    assert case.number in page.content.decode() and "filing" in page.content.decode()
    assert client.get("/admin/cases/case/add/").status_code == 403
    assert client.get("/admin/cases/workingdayexception/add/").status_code == 200
