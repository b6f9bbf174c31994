"""import_components and generate_grids: the two other import commands of issue 3."""

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridmap import models
from gridmap.crs import wgs84_to_gcj02
from tests.factories import DepartmentFactory, RoadFactory, line, lonlat, small_district

pytestmark = pytest.mark.django_db


def inventory(tmp_path, rows, name="components.csv"):
    path = tmp_path / name
    frame = []
    for code, x, y, extra in rows:
        lon, lat = wgs84_to_gcj02(*lonlat(x, y))  # as a phone app records them
        frame.append({"编号": code, "经度": f"{lon:.8f}", "纬度": f"{lat:.8f}", **extra})
    if name.endswith(".xlsx"):
        pd.DataFrame(frame).to_excel(path, index=False)
    else:
        pd.DataFrame(frame).to_csv(path, index=False)
    return path


def test_components_come_in_from_a_gcj02_excel_sheet_with_class_and_owner(tmp_path, capsys):
    small_district()
    DepartmentFactory(code="D01", name="市政办")
    path = inventory(
        tmp_path,
        [
            ("4101990101000001", 50, 50, {"类别": "上水井盖", "权属": "市政办", "状况": "损坏"}),
            ("4101990110000002", 150, 60, {"类别": "", "权属": "供电公司", "状况": ""}),
        ],
        name="components.xlsx",
    )
    call_command(
        "import_components",
        str(path),
        "--srs",
        "gcj02",
        "--code-field",
        "编号",
        "--class-field",
        "类别",
        "--owner-field",
        "权属",
        "--condition-field",
        "状况",
    )
    cover = models.Component.objects.get(code="4101990101000001")
    assert cover.component_class.minor_name == "上水井盖"
    assert cover.owner_department.name == "市政办" and cover.condition == "damaged"
    lamp = models.Component.objects.get(code="4101990110000002")
    assert lamp.component_class.minor_name == "路灯"  # from the code's class digits 0110
    assert lamp.owner_department is None and lamp.owner_name == "供电公司"
    x, y = lamp.geom.x - 470_000, lamp.geom.y - 3_830_000
    assert abs(x - 150) < 0.5 and abs(y - 60) < 0.5
    assert "2 new" in capsys.readouterr().out


def test_bad_components_are_each_reported_and_nothing_is_written(tmp_path, capsys):
    small_district()
    path = inventory(
        tmp_path,
        [
            ("4101990101000001", 50, 50, {"类别": "上水井盖"}),
            ("410199010100002", 60, 50, {"类别": ""}),  # 15 digits
            ("4101990101000003", 70, 50, {"类别": "雨水井盖"}),  # disagrees with 0101
            ("4101990199000004", 80, 50, {"类别": ""}),  # no class 0199
            ("4101990101000001", 90, 50, {"类别": ""}),  # code used twice
            ("4101990101000006", 900, 50, {"类别": ""}),  # far outside
        ],
    )
    with pytest.raises(CommandError, match="5 error"):
        call_command(
            "import_components",
            str(path),
            "--srs",
            "gcj02",
            "--code-field",
            "编号",
            "--class-field",
            "类别",
        )
    out = capsys.readouterr().out
    assert "has 16 digits" in out and "disagrees with the code's class digits 0101" in out
    assert "no component class 0199" in out and "used twice" in out
    assert "lies outside the district" in out
    assert not models.Component.objects.exists()


def test_probable_duplicates_are_reported(tmp_path, capsys):
    small_district()
    path = inventory(
        tmp_path,
        [
            ("4101990110000001", 50, 50, {}),
            ("4101990110000002", 50.4, 50, {}),
            ("4101990101000003", 50, 50.2, {}),  # another class at the same spot: fine
        ],
    )
    call_command("import_components", str(path), "--srs", "gcj02", "--code-field", "编号")
    out = capsys.readouterr().out
    assert out.count("probable duplicate") == 1
    assert models.Component.objects.count() == 3


def test_generate_grids_tiles_communities_along_roads(capsys):
    area = small_district()
    RoadFactory(code="R1", geom=line((300, -10), (300, 310)))
    with pytest.raises(CommandError, match="already has 2 grids"):
        call_command("generate_grids", "--community", "410199001002")
    call_command(
        "generate_grids",
        "--community",
        "410199001002",
        "--along-roads",
        "--replace",
        "--target-area",
        "5000",
    )
    out = capsys.readouterr().out
    assert "12 grids generated in 1 communities" in out
    grids = models.UnitGrid.objects.filter(community=area["c2"]).order_by("code")
    assert grids.count() == 12 and grids.first().code == "410199001002001"
    assert sum(g.geom.area for g in grids) == pytest.approx(area["c2"].geom.area, rel=1e-6)
    assert models.UnitGrid.objects.filter(community=area["c1"]).count() == 2  # untouched


def test_generate_grids_dry_run_and_bad_arguments(capsys):
    small_district()
    before = list(models.UnitGrid.objects.values_list("code", flat=True).order_by("code"))
    call_command("generate_grids", "--all", "--replace", "--dry-run")
    assert "would be generated" in capsys.readouterr().out
    assert list(models.UnitGrid.objects.values_list("code", flat=True).order_by("code")) == before
    with pytest.raises(CommandError, match="no such community: 999"):
        call_command("generate_grids", "--community", "999")
    with pytest.raises(CommandError, match="too small"):
        call_command("generate_grids", "--all", "--target-area", "5")
