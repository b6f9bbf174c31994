"""Exports: every format reopens (geopandas / pandas) with the same rows and geometry; Chinese
column names and text survive; Shapefile field names fit in 10 bytes and the .cpg names the
encoding; an empty selection writes nothing; large ones are refused here (they are jobs)."""

import io
import zipfile

import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command

from analysis import api
from analysis.exports import COLUMNS, dbf_names, export_read
from gridmap.models import STORAGE_SRID

from .helpers import cases_add

URL = "/api/v1/analysis/export"
RNG = np.random.default_rng(5)
NAMES = [name for _, name in COLUMNS]


def _cases(lattice, n=120):
    return cases_add(lattice, RNG.uniform(1, 999, size=(n, 2)))


def _expected(cases) -> dict[str, shapely.Point]:
    """Case number → point in WGS-84 (as the API would give it)."""
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True)
    return {c.number: shapely.Point(to_wgs84.transform(c.geom.x, c.geom.y)) for c in cases}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("geojson", {}),
        ("gpkg", {}),
        ("gpkg", {"crs": "4326"}),
        ("shp", {}),
        ("shp", {"shp_encoding": "gbk"}),
        ("csv", {}),
        ("xlsx", {}),
    ],
)
def test_export_reopens_with_the_same_rows_and_geometry(lattice, client_for, fmt, params):
    cases = _cases(lattice)
    response = client_for("planner").get(URL, {"format": fmt, **params})
    assert response.status_code == 200, response.content
    assert "attachment" in response["Content-Disposition"]
    frame = export_read(response.content, fmt)
    assert len(frame) == len(cases)
    number = "案卷号"
    assert number in frame.columns  # a Chinese name, whole in every format (≤ 10 bytes)
    frame = frame.to_crs(4326) if frame.crs and frame.crs.to_epsg() != 4326 else frame
    expected = _expected(cases)
    assert set(frame[number]) == set(expected)
    for num, geom in zip(frame[number], frame.geometry, strict=True):
        assert geom.distance(expected[num]) < 1e-7  # about a centimetre
    text_column = (
        "描述" if fmt != "shp" else dbf_names(NAMES, params.get("shp_encoding", "utf-8"))["描述"]
    )
    assert set(frame[text_column]) == {"测试描述，含中文"}
    if fmt in ("geojson", "gpkg", "csv", "xlsx"):
        assert set(NAMES) <= set(frame.columns)


@pytest.mark.django_db
@pytest.mark.parametrize(("encoding", "cpg"), [("utf-8", "UTF-8"), ("gbk", "GBK")])
def test_shapefile_parts_names_and_encoding(lattice, client_for, encoding, cpg):
    _cases(lattice, n=10)
    response = client_for("planner").get(URL, {"format": "shp", "shp_encoding": encoding})
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = sorted(archive.namelist())
        assert names == ["cases.cpg", "cases.dbf", "cases.prj", "cases.shp", "cases.shx"]
        assert archive.read("cases.cpg").decode().strip().upper() == cpg
        dbf = archive.read("cases.dbf")
    fields = []
    for k in range(32, dbf.index(b"\r"), 32):  # 32-byte field descriptors after the header
        fields.append(dbf[k : k + 11].split(b"\0")[0])
    assert all(len(f) <= 10 for f in fields)
    decoded = [f.decode(encoding) for f in fields]
    assert len(set(decoded)) == len(decoded)
    assert decoded == list(dbf_names(NAMES, encoding).values())
    if encoding == "gbk":
        assert decoded == NAMES  # every name fits whole in GBK


def test_dbf_names_cut_at_characters_and_stay_unique():
    names = dbf_names(["上报时间", "上报时刻", "descriptionA", "descriptionB", "x"], "utf-8")
    assert names == {
        "上报时间": "上报时",  # 9 bytes: a fourth character would make 12
        "上报时刻": "上报时1",
        "descriptionA": "descriptio",
        "descriptionB": "descripti1",
        "x": "x",
    }


@pytest.mark.django_db
def test_filters_and_scope_apply(lattice, client_for):
    _cases(lattice, n=50)
    cases_add(lattice, RNG.uniform(1, 999, size=(7, 2)), category=lattice["litter"])
    response = client_for("planner").get(URL, {"format": "csv", "category": "E9802"})
    assert len(export_read(response.content, "csv")) == 7
    lead = client_for("community_lead")
    frame = export_read(lead.get(URL, {"format": "csv"}).content, "csv")
    assert set(frame["社区"]) == {"西社区"}


@pytest.mark.django_db
def test_nothing_to_export_is_an_error_not_an_empty_file(lattice, client_for, tmp_path):
    _cases(lattice, n=5)
    response = client_for("planner").get(URL, {"format": "gpkg", "source": "hotline"})
    assert response.status_code == 400
    assert "no case matches" in response.json()["filters"][0]
    out = tmp_path / "none.gpkg"
    with pytest.raises(CommandError, match="no case matches"):
        call_command("export_cases", out=out, source=["hotline"])
    assert not out.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "format"),
        ({"format": "kml"}, "format"),
        ({"format": "geojson", "crs": "3857"}, "crs"),
        ({"format": "csv", "crs": str(STORAGE_SRID)}, "crs"),
        ({"format": "csv", "shp_encoding": "gbk"}, "shp_encoding"),
        ({"format": "shp", "shp_encoding": "latin-1"}, "shp_encoding"),
    ],
)
def test_bad_export_parameters(lattice, client_for, params, field):
    _cases(lattice, n=5)
    response = client_for("planner").get(URL, params)
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.django_db
def test_large_exports_are_jobs(lattice, client_for, monkeypatch):
    _cases(lattice, n=30)
    monkeypatch.setattr(api, "EXPORT_SYNC_MAX", 20)
    response = client_for("planner").get(URL, {"format": "gpkg"})
    assert response.status_code == 413
    assert "/api/v1/analysis/jobs" in response.json()["detail"]


@pytest.mark.django_db
def test_command_writes_a_gpkg(lattice, tmp_path):
    cases = _cases(lattice, n=40)
    out = tmp_path / "cases.gpkg"
    stdout = io.StringIO()
    call_command("export_cases", out=out, stdout=stdout)
    assert "40 cases" in stdout.getvalue()
    frame = export_read(out.read_bytes(), "gpkg")
    assert frame.crs.to_epsg() == STORAGE_SRID
    assert set(frame["案卷号"]) == {c.number for c in cases}
