"""import_district: formats and CRSs in, every problem reported by feature, all-or-nothing out.

Files are written on the fly from hand-drawn geometry in local metres around ``ORIGIN`` (see
tests/factories.py): a district of 400 m × 300 m, two communities side by side, grids in them.
"""

import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import LineString, Point, Polygon, box

from gridmap import models
from gridmap.crs import wgs84_to_gcj02
from gridmap.importing import ImportOptions, import_file
from tests.factories import ORIGIN, local_xy, lonlat, small_district

pytestmark = pytest.mark.django_db


def local_box(x0, y0, x1, y1):
    ox, oy = ORIGIN
    return box(ox + x0, oy + y0, ox + x1, oy + y1)


def frame(rows: list[dict], *, crs=4547) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def write(gdf: gpd.GeoDataFrame, path, **kwargs):
    gdf.to_file(path, engine="pyogrio", **kwargs)
    return path


def run(path, level, **options):
    return import_file(path, ImportOptions(level=level, **options))


def admin_files(tmp_path, *, crs=4326, suffix="geojson", driver=None):
    """District, subdistrict and two communities as files in ``crs``."""
    kw = {"driver": driver} if driver else {}
    d = frame([{"code": "410199", "name": "测试区", "geometry": local_box(0, 0, 400, 300)}])
    s = frame([{"code": "410199001", "name": "测试街道", "geometry": local_box(0, 0, 400, 300)}])
    c = frame(
        [
            {"code": "410199001001", "name": "西社区", "geometry": local_box(0, 0, 200, 300)},
            {"code": "410199001002", "name": "东社区", "geometry": local_box(200, 0, 400, 300)},
        ]
    )
    paths = {}
    for name, gdf in (("district", d), ("subdistrict", s), ("community", c)):
        paths[name] = write(gdf.to_crs(crs), tmp_path / f"{name}.{suffix}", **kw)
    return paths


def test_a_district_comes_in_level_by_level_with_parents_found_by_location(tmp_path):
    paths = admin_files(tmp_path)
    for level in ("district", "subdistrict", "community"):
        report = run(paths[level], level)
        assert report.ok, report.lines()
        assert report.written
    assert models.Community.objects.get(code="410199001002").subdistrict.code == "410199001"
    east = models.Community.objects.get(code="410199001002")
    assert east.geom.srid == models.STORAGE_SRID
    assert east.geom.area == pytest.approx(60_000, rel=1e-6)


def test_a_zipped_shapefile_in_cgcs2000_is_projected(tmp_path):
    paths = admin_files(tmp_path, crs=4490, suffix="shp", driver="ESRI Shapefile")
    archive = tmp_path / "district.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("district.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    report = run(archive, "district")
    assert report.ok, report.lines()
    assert "EPSG:4490" in report.notes[0]
    assert models.District.objects.get().geom.area == pytest.approx(120_000, rel=1e-5)
    assert paths


def test_a_geopackage_layer_and_kml_are_read(tmp_path):
    small_district()
    gpkg = tmp_path / "base.gpkg"
    ox, oy = ORIGIN
    road = frame(
        [
            {
                "code": "R9",
                "name": "经开第九大街",
                "class": "主干道",
                "geometry": LineString([(ox + 10, oy + 10), (ox + 390, oy + 20)]),
            }
        ]
    )
    write(road, gpkg, layer="roads")
    write(
        frame([{"code": "B9", "name": "楼", "geometry": local_box(50, 50, 80, 80)}]),
        gpkg,
        layer="buildings",
    )
    report = run(gpkg, "road", layer="roads", fields={"road_class": "class"})
    assert report.ok, report.lines()
    assert models.Road.objects.get(code="R9").road_class == "primary"
    missing = run(gpkg, "road", layer="nope")
    assert not missing.ok and "roads" in str(missing.errors[0])

    kml = write(
        frame([{"name": "菜市场", "geometry": Point(ox + 100, oy + 100)}]).to_crs(4326),
        tmp_path / "pois.kml",
        driver="KML",
    )
    report = run(kml, "poi", fields={})
    assert report.ok, report.lines()
    assert models.PointOfInterest.objects.filter(name="菜市场").count() == 1


def test_a_csv_in_gcj02_lands_where_the_phone_stood(tmp_path):
    small_district()
    lon, lat = lonlat(120, 80)
    glon, glat = wgs84_to_gcj02(lon, lat)
    csv = tmp_path / "pois.csv"
    pd.DataFrame(
        [
            {
                "编号": "P1",
                "名称": "张记面馆",
                "经度": f"{glon:.8f}",
                "纬度": f"{glat:.8f}",
                "类型": "餐饮",
            }
        ]
    ).to_csv(csv, index=False)
    report = run(
        csv, "poi", srs="gcj02", code_field="编号", name_field="名称", fields={"kind": "类型"}
    )
    assert report.ok, report.lines()
    poi = models.PointOfInterest.objects.get(code="P1")
    assert poi.kind == "restaurant"
    x, y = poi.geom.x - ORIGIN[0], poi.geom.y - ORIGIN[1]
    assert abs(x - 120) < 0.5 and abs(y - 80) < 0.5, "GCJ-02 was not undone"


def test_a_bad_csv_row_is_named_by_its_row_number(tmp_path):
    small_district()
    lon, lat = lonlat(120, 80)
    csv = tmp_path / "pois.csv"
    pd.DataFrame(
        [
            {"code": "P1", "name": "a", "lon": lon, "lat": lat},
            {"code": "P2", "name": "b", "lon": "东经113", "lat": lat},
        ]
    ).to_csv(csv, index=False)
    report = run(csv, "poi")
    assert not report.ok and not report.written
    assert [(p.fid, "no usable coordinates" in p.message) for p in report.errors] == [("3", True)]
    assert not models.PointOfInterest.objects.exists()


def test_an_invalid_polygon_is_refused_then_repaired_on_request(tmp_path):
    small_district()
    ox, oy = ORIGIN
    bowtie = Polygon(
        [(ox + 10, oy + 10), (ox + 60, oy + 60), (ox + 60, oy + 10), (ox + 10, oy + 60)]
    )
    path = write(
        frame(
            [
                {"code": "B1", "geometry": bowtie},
                {"code": "B2", "geometry": local_box(100, 100, 120, 120)},
            ]
        ),
        tmp_path / "b.geojson",
    )
    report = run(path, "building")
    assert not report.ok
    assert "Self-intersection" in report.errors[0].message and report.errors[0].code == "B1"
    assert not models.Building.objects.exists(), "all-or-nothing: B2 must not be written either"
    report = run(path, "building", repair=True)
    assert report.ok and report.written
    assert "repaired" in report.warnings[0].message
    assert models.Building.objects.count() == 2


def test_a_community_sticking_out_of_its_subdistrict_is_reported_with_area_and_place(tmp_path):
    area = small_district()
    path = write(
        frame(
            [
                {
                    "code": "410199001003",
                    "name": "越界社区",
                    "parent": "410199001",
                    "geometry": local_box(300, 200, 500, 300),
                }
            ]
        ),
        tmp_path / "c.geojson",
    )
    report = run(path, "community", parent_field="parent")
    assert not report.ok
    message = " ".join(p.message for p in report.errors)
    assert "not within its parent subdistrict 410199001" in message
    assert "10000.0 m² lies outside" in message
    problem = next(p for p in report.errors if "not within" in p.message)
    x, _ = local_xy(problem.lon, problem.lat)
    assert x > 400
    assert models.Community.objects.count() == 2 and area


def test_overlapping_siblings_are_errors_and_gaps_warnings(tmp_path):
    small_district()
    models.UnitGrid.objects.all().delete()
    path = write(
        frame(
            [
                {"code": "410199001001001", "geometry": local_box(0, 100, 200, 300)},
                {"code": "410199001001002", "geometry": local_box(0, 0, 200, 120)},  # 20 m overlap
            ]
        ),
        tmp_path / "g.geojson",
    )
    report = run(path, "grid")
    assert [p.code for p in report.errors] == ["410199001001001"]
    assert "overlaps grid 410199001001002 by 4000.0 m²" in report.errors[0].message
    path = write(
        frame(
            [
                {"code": "410199001001001", "geometry": local_box(0, 150, 200, 300)},
                {"code": "410199001001002", "geometry": local_box(0, 0, 200, 140)},  # 10 m gap
            ]
        ),
        tmp_path / "g2.geojson",
    )
    report = run(path, "grid")
    assert report.ok and report.written
    assert any("leave 2000.0 m² of it uncovered" in p.message for p in report.warnings)


def test_codes_names_and_values_are_checked(tmp_path):
    small_district()
    path = write(
        frame(
            [
                {"code": "410199001003", "name": "", "geometry": local_box(0, 0, 10, 10)},
                {"code": "41019900100", "name": "短", "geometry": local_box(20, 0, 30, 10)},
                {"code": "410199001005", "name": "甲", "geometry": local_box(40, 0, 50, 10)},
                {"code": "410199001005", "name": "乙", "geometry": local_box(60, 0, 70, 10)},
                {"code": "410188001006", "name": "丙", "geometry": local_box(80, 0, 90, 10)},
            ]
        ),
        tmp_path / "c.geojson",
    )
    report = run(path, "community")
    messages = [(p.fid, p.message) for p in report.errors]
    assert ("0", "the feature has no name") in messages
    assert any("has 12 digits" in m and fid == "1" for fid, m in messages)
    assert any("used twice" in m and fid == "3" for fid, m in messages)
    assert any("must start with its parent's code 410199001" in m for _, m in messages)
    assert models.Community.objects.count() == 2

    roads = write(
        frame(
            [
                {
                    "code": "R1",
                    "lanes": "x",
                    "geometry": LineString([(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 50, ORIGIN[1])]),
                }
            ]
        ),
        tmp_path / "r.geojson",
    )
    report = run(roads, "road", fields={"speed_kmh": "lanes"})
    assert "speed_kmh (column 'lanes'): 'x' is not a number" in report.errors[0].message
    report = run(roads, "road", fields={"colour": "lanes"})
    assert "not an attribute of level road" in report.errors[0].message
    report = run(roads, "road", fields={"speed_kmh": "nope"})
    assert "no column 'nope'" in report.errors[0].message and "lanes" in report.errors[0].message


def test_swapped_longitude_and_latitude_are_spotted(tmp_path):
    small_district()
    lon, lat = lonlat(100, 100)
    csv = tmp_path / "pois.csv"
    pd.DataFrame([{"code": "P1", "name": "x", "lon": lat, "lat": lon}]).to_csv(csv, index=False)
    report = run(csv, "poi")
    problems = " ".join(p.message for p in report.problems)
    assert "swapped" in problems or "cannot be projected" in problems
    assert not models.PointOfInterest.objects.exists()


def test_dry_run_writes_nothing_and_replace_deletes_what_is_gone(tmp_path):
    small_district()
    ox, oy = ORIGIN
    roads = frame(
        [
            {"code": f"R{i}", "geometry": LineString([(ox, oy + i * 10), (ox + 100, oy + i * 10)])}
            for i in range(1, 4)
        ]
    )
    path = write(roads, tmp_path / "r.geojson")
    report = run(path, "road", dry_run=True)
    assert report.ok and not report.written and report.created == 3
    assert not models.Road.objects.exists()
    run(path, "road")
    ids = dict(models.Road.objects.values_list("code", "id"))
    write(roads.iloc[:2], tmp_path / "r2.geojson")
    report = run(tmp_path / "r2.geojson", "road", replace=True)
    assert report.ok and report.updated == 2 and report.deleted == 1
    assert dict(models.Road.objects.values_list("code", "id")) == {c: ids[c] for c in ("R1", "R2")}


def test_replace_will_not_orphan_children(tmp_path):
    small_district()
    path = write(
        frame([{"code": "410199001001", "name": "西社区", "geometry": local_box(0, 0, 200, 300)}]),
        tmp_path / "c.geojson",
    )
    report = run(path, "community", replace=True)
    assert not report.ok
    assert "--replace would delete rows that others still use" in report.errors[0].message
    assert models.Community.objects.count() == 2


def test_changing_a_community_so_that_its_grids_stick_out_is_refused(tmp_path):
    small_district()
    path = write(
        frame([{"code": "410199001001", "name": "西社区", "geometry": local_box(0, 0, 200, 200)}]),
        tmp_path / "c.geojson",
    )
    report = run(path, "community")
    assert not report.ok
    assert any("grid 410199001001001 sticks out" in p.message for p in report.errors)
    assert models.Community.objects.get(code="410199001001").geom.area == pytest.approx(60_000)


def test_zones_take_a_kind_and_their_community_by_location(tmp_path):
    area = small_district()
    path = write(
        frame(
            [
                {"shop": "李记", "tel": "13800000002", "geometry": local_box(30, 10, 60, 20)},
                {"shop": "跨界", "tel": "", "geometry": local_box(190, 10, 210, 20)},
            ]
        ),
        tmp_path / "z.geojson",
    )
    report = run(
        path,
        "zone",
        kind="门前五包",
        name_field="shop",
        fields={"holder": "shop", "contact": "tel"},
    )
    assert report.ok, report.lines()
    zones = {z.holder: z for z in models.ResponsibilityZone.objects.filter(code__startswith="Z-")}
    assert zones["李记"].kind == "frontage" and zones["李记"].community == area["c1"]
    assert zones["跨界"].community is None
    assert zones["李记"].contact == "13800000002"
    assert not run(path, "zone").ok  # no kind given


def test_the_command_prints_the_report_and_fails_on_errors(tmp_path, capsys):
    small_district()
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_district", str(tmp_path / "missing.geojson"), "--level", "road")
    ox, oy = ORIGIN
    path = write(
        frame([{"code": "R1", "geometry": LineString([(ox, oy), (ox + 10, oy)])}]),
        tmp_path / "r.geojson",
    )
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_district", str(path), "--level", "road", "--field", "oneway=code")
    out = capsys.readouterr().out
    assert "'R1' is not yes/no" in out and "NOT imported" in out
    assert not models.Road.objects.exists()


def test_the_command_imports_and_summarises(tmp_path, capsys):
    small_district()
    ox, oy = ORIGIN
    path = write(
        frame([{"code": "R1", "way": "yes", "geometry": LineString([(ox, oy), (ox + 10, oy)])}]),
        tmp_path / "r.geojson",
    )
    call_command("import_district", str(path), "--level", "road", "--field", "oneway=way")
    out = capsys.readouterr().out
    assert "1 new" in out and "imported" in out
    assert models.Road.objects.get(code="R1").oneway is True
    with pytest.raises(CommandError, match="expected NAME=COLUMN"):
        call_command("import_district", str(path), "--level", "road", "--field", "oneway")
