"""Any city: a fresh database with another country's metric CRS works end to end.

A small district in Freiburg im Breisgau (UTM zone 32N, EPSG:32632, Europe/Berlin) is built in a
database of its own, by subprocesses configured only through the environment — exactly as a
deployment would be: migrate, import boundaries, generate grids, geocode.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from django.conf import settings
from shapely.geometry import box

ROOT = Path(__file__).resolve().parents[2]
# Freiburg's Altstadt, roughly: 7.845–7.857 E, 47.990–47.998 N (WGS-84).
WEST, SOUTH, EAST, NORTH = 7.845, 47.990, 7.857, 47.998
MID = (WEST + EAST) / 2


@pytest.fixture
def city_database():
    db = settings.DATABASES["default"]
    name = f"gridmap_anycity_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}"
    yield url
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def manage(url: str, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "GRIDMAP_SRID": "32632",
        "TIME_ZONE": "Europe/Berlin",
        "LANGUAGE_CODE": "en",
        "GRIDMAP_GRID_CODE_LAYOUT": "2+2+2+3",
        "DJANGO_SETTINGS_MODULE": "gridmap.settings",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def geojson(path: Path, rows: list[dict]) -> str:
    gpd.GeoDataFrame(rows, crs=4326).to_file(path, engine="pyogrio")
    return str(path)


def test_a_german_district_in_utm_works_end_to_end(city_database, tmp_path):
    url = city_database
    manage(url, "migrate", "--noinput", "-v", "0")
    whole = box(WEST, SOUTH, EAST, NORTH)
    files = {
        "district": geojson(
            tmp_path / "d.geojson", [{"code": "01", "name": "Freiburg", "geometry": whole}]
        ),
        "subdistrict": geojson(
            tmp_path / "s.geojson", [{"code": "0101", "name": "Altstadt", "geometry": whole}]
        ),
        "community": geojson(
            tmp_path / "c.geojson",
            [
                {
                    "code": "010101",
                    "name": "Altstadt-West",
                    "geometry": box(WEST, SOUTH, MID, NORTH),
                },
                {
                    "code": "010102",
                    "name": "Altstadt-Ost",
                    "geometry": box(MID, SOUTH, EAST, NORTH),
                },
            ],
        ),
    }
    for level, path in files.items():
        out = manage(url, "import_district", "--level", level, path)
        assert "imported" in out
    out = manage(url, "generate_grids", "--all", "--target-area", "10000")
    assert "generated in 2 communities" in out
    probe = (
        "import json; from django.db import connection; from django.utils import timezone;"
        "from gridmap.selectors import geocode_point;"
        f"a = geocode_point(lon={(WEST + MID) / 2}, lat={(SOUTH + NORTH) / 2});"
        'c = connection.cursor(); c.execute("SELECT srid FROM geometry_columns '
        "WHERE f_table_name = 'gridmap_unitgrid'\");"
        "c2 = connection.cursor();"
        "c2.execute('SELECT count(*), sum(ST_Area(geom)) FROM gridmap_unitgrid');"
        "n, total = c2.fetchone();"
        "print(json.dumps({'srid': c.fetchone()[0], 'tz': timezone.get_current_timezone_name(),"
        "'community': a.community.name, 'grid': a.grid.code, 'grids': n, 'area': total}))"
    )
    result = json.loads(manage(url, "shell", "-c", probe).strip().splitlines()[-1])
    assert result["srid"] == 32632
    assert result["tz"] == "Europe/Berlin"
    assert result["community"] == "Altstadt-West"
    assert result["grid"].startswith("010101") and len(result["grid"]) == 9
    # ~0.9 km × 0.9 km of city → about 80 grids of a hectare
    assert 60 <= result["grids"] <= 100
    assert 7e5 < result["area"] < 9e5
