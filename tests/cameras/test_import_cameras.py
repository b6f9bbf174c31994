"""import_cameras: camera inventories from CSV, GeoJSON, GeoPackage and from import_osm."""

import json

import geopandas as gpd
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import Point as ShapelyPoint

from cameras.models import Camera
from gridmap.models import PointOfInterest
from tests.factories import lonlat, point, small_district

pytestmark = pytest.mark.django_db


def csv_inventory(tmp_path, rows):
    frame = []
    for code, x, y, extra in rows:
        lon, lat = lonlat(x, y)
        frame.append({"编号": code, "名称": f"摄像头{code}", "经度": lon, "纬度": lat, **extra})
    path = tmp_path / "cameras.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    return path


def test_a_chinese_csv_inventory_with_compass_headings_and_dome_types(tmp_path, capsys):
    small_district()
    path = csv_inventory(
        tmp_path,
        [
            ("C1", 50, 50, {"方向": "东北", "视场角": 70, "可视距离": 120, "类型": "枪机"}),
            ("C2", 60, 80, {"方向": "WSW", "视场角": "", "可视距离": 40, "类型": "球机"}),
            ("C3", 150, 80, {"方向": "135°", "视场角": 55, "可视距离": "", "类型": ""}),
        ],
    )
    call_command("import_cameras", str(path), "--code-field", "编号", "--name-field", "名称")
    out = capsys.readouterr().out
    c1, c2, c3 = (Camera.objects.get(code=c) for c in ("C1", "C2", "C3"))
    assert (c1.heading_deg, c1.fov_deg, c1.range_m, c1.ptz) == (45, 70, 120, False)
    assert c1.name == "摄像头C1" and c1.defaulted == ["mount_height_m"]
    assert c2.heading_deg == 247.5 and c2.ptz and c2.effective_fov_deg == 360
    # A dome's heading and field of view need no checking on site: not listed as defaulted.
    assert "fov_deg" not in c2.defaulted
    assert c3.heading_deg == 135 and c3.range_m == 80 and "range_m" in c3.defaulted
    assert "1 camera(s) without range_m: 80 assumed" in out
    assert "3 new" in out
    assert c1.geom.distance(point(50, 50)) < 0.5


def test_geojson_with_a_lens_gives_the_field_of_view(tmp_path):
    small_district()
    lon, lat = lonlat(100, 100)
    path = tmp_path / "cameras.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "code": "L1",
            "heading": 90,
            "focal_length": 4,
            "sensor_width": 6.4,
            "range": 60,
            "mount_height": 8,
            "stream": "http://cams.example/L1/index.m3u8",
            "owner": "公安天网",
        },
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    call_command("import_cameras", str(path))
    camera = Camera.objects.get(code="L1")
    assert camera.fov_deg == pytest.approx(77.32, abs=0.01)  # 2·atan(6.4 / 8)
    assert camera.focal_length_mm == 4 and camera.sensor_width_mm == 6.4
    assert camera.stream_url.endswith(".m3u8") and camera.owner == "公安天网"
    assert camera.defaulted == []


def test_geopackage_and_reimport_updates_by_code(tmp_path):
    small_district()
    path = tmp_path / "cameras.gpkg"

    def write(heading):
        lon, lat = lonlat(40, 200)
        frame = gpd.GeoDataFrame(
            {"code": ["G1"], "azimuth": [heading], "range_m": [90.0]},
            geometry=[ShapelyPoint(lon, lat)],
            crs="EPSG:4326",
        )
        frame.to_file(path, driver="GPKG")

    write(10.0)
    call_command("import_cameras", str(path))
    write(200.0)
    call_command("import_cameras", str(path))
    assert Camera.objects.count() == 1
    assert Camera.objects.get(code="G1").heading_deg == 200


def test_impossible_values_and_duplicate_codes_are_errors_and_nothing_is_written(tmp_path, capsys):
    small_district()
    path = csv_inventory(
        tmp_path,
        [
            ("OK1", 50, 50, {"方向": 10, "视场角": 60, "可视距离": 50}),
            ("B1", 60, 50, {"方向": 400, "视场角": 60, "可视距离": 50}),
            ("B2", 70, 50, {"方向": 10, "视场角": 60, "可视距离": 0}),
            ("B3", 80, 50, {"方向": 10, "视场角": 400, "可视距离": 50}),
            ("OK1", 90, 50, {"方向": "up", "视场角": 60, "可视距离": 50}),
        ],
    )
    with pytest.raises(CommandError, match="error"):
        call_command("import_cameras", str(path), "--code-field", "编号")
    out = capsys.readouterr().out
    assert "between 0 and 360" in out
    assert "a range must be above zero" in out
    assert "a field of view is at most 360" in out
    assert "'up' is not a heading" in out
    assert "OK1" in out  # the code given twice
    assert Camera.objects.count() == 0


def test_cameras_found_by_import_osm(tmp_path):
    small_district()
    with pytest.raises(CommandError, match="run import_osm"):
        call_command("import_cameras", "--from-osm")
    PointOfInterest.objects.create(
        code="n42",
        name="",
        kind=PointOfInterest.Kind.SURVEILLANCE,
        geom=point(120, 120),
        address="camera:direction=SE; camera:type=dome; operator=郑州公安",
    )
    call_command("import_cameras", "--from-osm")
    camera = Camera.objects.get(code="OSM-n42")
    assert camera.heading_deg == 135 and camera.ptz and camera.owner == "郑州公安"
    assert "range_m" in camera.defaulted


def test_either_a_file_or_osm(tmp_path):
    with pytest.raises(CommandError, match="either a FILE or --from-osm"):
        call_command("import_cameras")
