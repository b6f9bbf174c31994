"""Bulk geocoding: the service (same answers as the single-point geocoder) and the CSV command.

Most tests use the small hand-drawn district of ``tests.factories`` (two communities of two
grids each, seen from above in local metres):

    300 +----------+----------+
        |  C1 ...001  C2 ...001 |    zones: F1 frontage x 20..60,   y 140..160 (straddles C1's edge)
    150 +----------+----------+           J1 jurisdiction: the whole district
        |  C1 ...002  C2 ...002 |           F2 frontage x 190..210, y 100..120 (straddles C1 / C2)
      0 +----------+----------+           P1 patrol: all of C1 (covers C1's grids whole)
        0         200        400

``gap`` removes C2's southern grid, leaving a gap (x 200..400, y 0..150) that only community C2
covers, with frontage zone F3 (x 300..320, y 50..70) inside it.
"""

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import CommandError, call_command
from django.db import transaction
from pyproj import Transformer

from gridmap import crs
from gridmap.demo.loader import demo_load
from gridmap.models import STORAGE_SRID, UnitGrid
from gridmap.selectors import district_extent_wgs84, geocode_point
from gridmap.services.bulk_geocode import (
    OUTPUT_COLUMNS,
    Areas,
    Assignment,
    areas_load,
    lonlat_assign,
    points_assign,
)
from tests.factories import ORIGIN, CommunityFactory, UnitGridFactory, ZoneFactory, lonlat, rect
from tests.factories import small_district as _small_district

DRAWN = 4547


@pytest.fixture
def district(db):
    areas = _small_district()
    ZoneFactory(code="F2", name="李记门前", kind="frontage", geom=rect(190, 100, 210, 120))
    ZoneFactory(code="P1", name="巡查一区", kind="patrol", geom=rect(0, 0, 200, 300))
    return areas


@pytest.fixture
def gap(district):
    district["grids"]["c2_south"].delete()
    ZoneFactory(code="F3", name="王记门前", kind="frontage", geom=rect(300, 50, 320, 70))
    return district


def _address(assignment: Assignment, areas: Areas, i: int, zones: list[str]) -> tuple:
    """Point ``i`` as (inside, subdistrict, community, grid, zones): codes, or None."""

    def code(level, index):
        return level.codes[index] if index >= 0 else None

    return (
        bool(assignment.inside[i]),
        code(areas.subdistricts, assignment.subdistrict[i]),
        code(areas.communities, assignment.community[i]),
        code(areas.grids, assignment.grid[i]),
        zones[i],
    )


def _single(lon: float, lat: float) -> tuple:
    a = geocode_point(lon=lon, lat=lat)
    return (
        a.inside,
        a.subdistrict.code if a.subdistrict else None,
        a.community.code if a.community else None,
        a.grid.code if a.grid else None,
        ";".join(z.code for z in a.zones),
    )


def _assert_same_as_single_point(lon: np.ndarray, lat: np.ndarray) -> Assignment:
    areas = areas_load()
    found = lonlat_assign(lon=lon, lat=lat, areas=areas)
    zones = found.zone_codes()
    pairs = [
        (_address(found, areas, i, zones), _single(float(lon[i]), float(lat[i])))
        for i in range(len(lon))
    ]
    differ = [(i, bulk, single) for i, (bulk, single) in enumerate(pairs) if bulk != single]
    assert not differ, differ[:5]
    return found


def _local_to_lonlat(xy: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    points = [lonlat(x, y) for x, y in xy]
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


# --- the service: same answers as geocode_point ----------------------------------------------


SPOTS = [
    (40, 155),  # C1 north, in F1, P1, J1
    (40, 145),  # C1 south, in F1
    (100, 150),  # C1's north / south edge
    (200, 75),  # the C1 / C2 border
    (200, 150),  # the corner of four grids
    (200, 110),  # in F2, on the C1 / C2 border
    (205, 110),  # in F2, in C2
    (0, 0),  # the district's corner
    (400, 300),  # the opposite corner
    (20, 140),  # F1's corner
    (300, 60),  # C2 south (F3 lies here in the gap district)
    (300, 10),
    (450, 100),  # outside, east
    (-30, -30),  # outside, south-west
]


def test_same_answers_as_the_single_point_geocoder(district):
    rng = np.random.default_rng(11)
    xy = SPOTS + list(zip(rng.uniform(-50, 450, 400), rng.uniform(-50, 350, 400), strict=True))
    found = _assert_same_as_single_point(*_local_to_lonlat(xy))
    # The district's corners (7, 8) may land a hair outside after the WGS-84 round trip.
    assert found.inside[[0, 1, 2, 3, 4, 5, 6, 9, 10, 11]].all()
    assert not found.inside[12:14].any()


def test_same_answers_in_a_gap_without_grids(gap):
    rng = np.random.default_rng(12)
    xy = SPOTS + list(zip(rng.uniform(150, 450, 300), rng.uniform(-50, 200, 300), strict=True))
    lon, lat = _local_to_lonlat(xy)
    found = _assert_same_as_single_point(lon, lat)
    areas = areas_load()
    in_gap = SPOTS.index((300, 60))
    assert found.grid[in_gap] == -1
    assert _address(found, areas, in_gap, found.zone_codes()) == (
        True,
        "410199001",
        "410199001002",
        None,
        "F3;J1",
    )


@pytest.mark.skipif(STORAGE_SRID != DRAWN, reason="needs grids drawn in the storage CRS")
def test_points_exactly_on_shared_edges_go_to_the_lowest_code(db):
    # Grids whose edges run exactly through the projected points, so that both geocoders see
    # points on the edge itself (pyproj and PostGIS project them to the same doubles).
    to_storage = Transformer.from_crs(4326, STORAGE_SRID, always_xy=True)
    lon, lat = lonlat(100, 100)
    x, y = to_storage.transform(lon, lat)
    community = CommunityFactory(code="410199001001", geom=_box(x - 100, y - 100, x + 100, y + 100))
    codes = {}
    for n, (x0, y0, x1, y1) in enumerate(
        [(x - 100, y, x, y + 100), (x, y, x + 100, y + 100), (x - 100, y - 100, x, y)], start=1
    ):
        # Numbered so that the lowest code is not always the first grid drawn.
        code = f"410199001001{4 - n:03d}"
        UnitGridFactory(community=community, code=code, geom=_box(x0, y0, x1, y1))
        codes[n] = code
    UnitGridFactory(community=community, code="410199001001009", geom=_box(x, y - 100, x + 100, y))
    ZoneFactory(code="E1", kind="frontage", geom=_box(x - 10, y, x + 10, y + 10))
    points = [(x, y), (x - 50, y), (x + 50, y), (x, y + 50), (x, y - 50), (x + 100, y + 100)]
    back = Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True)
    # Exact storage coordinates straight into points_assign: the rule itself.
    exact = points_assign(
        x=np.array([p[0] for p in points]), y=np.array([p[1] for p in points]), areas=areas_load()
    )
    areas = areas_load()
    # Drawn: north-west …003, north-east …002, south-west …001, south-east …009.
    assert [areas.grids.codes[g] for g in exact.grid] == [
        "410199001001001",  # the corner of all four: the lowest code
        "410199001001001",  # the west edge: …003 (north) and …001 (south)
        "410199001001002",  # the east edge: …002 (north) and …009 (south)
        "410199001001002",  # the north edge: …003 (west) and …002 (east)
        "410199001001001",  # the south edge: …001 (west) and …009 (east)
        "410199001001002",  # the far corner of …002 alone
    ]
    assert exact.zone_codes()[:2] == ["E1", ""]  # on E1's southern edge; beside it
    # And through WGS-84, the same answer as the single-point geocoder. The round trip may move
    # a point a hair off the edge; whatever it does, it does it to both geocoders alike.
    lons, lats = back.transform(np.array(points)[:, 0], np.array(points)[:, 1])
    _assert_same_as_single_point(np.array([lon, *lons]), np.array([lat, *lats]))


def _box(x0, y0, x1, y1) -> MultiPolygon:
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return MultiPolygon(Polygon(ring), srid=STORAGE_SRID)


def test_more_partial_zones_in_a_grid_than_bits_in_a_word(district):
    # 80 shop fronts along the northern grid of C1: the zone masks need two 64-bit words.
    for n in range(80):
        x = 2.0 + n * 2.4
        ZoneFactory(code=f"S{n:03d}", kind="frontage", geom=rect(x, 200, x + 2.0, 210))
    rng = np.random.default_rng(13)
    xy = list(zip(rng.uniform(0, 200, 400), rng.uniform(195, 215, 400), strict=True))
    xy += [(2.0 + n * 2.4 + 1.0, 205.0) for n in range(0, 80, 7)]
    found = _assert_same_as_single_point(*_local_to_lonlat(xy))
    zones = found.zone_codes()
    assert zones[-1] == "S077;J1;P1"  # frontage first, then jurisdiction, then patrol


def test_points_outside_or_without_numbers_meet_nothing(district):
    areas = areas_load()
    lon0, lat0 = lonlat(100, 100)
    found = lonlat_assign(
        lon=np.array([np.nan, lon0, -70.0, 200.0, lon0]),
        lat=np.array([lat0, np.nan, 40.0, lat0, lat0]),
        areas=areas,
    )
    assert found.inside.tolist() == [False, False, False, False, True]
    assert (found.grid[:4] == -1).all() and (found.community[:4] == -1).all()
    assert found.zone_codes()[:4] == ["", "", "", ""]
    assert found.zone_codes()[4] == "J1;P1"


def test_no_areas_at_all(db):
    found = lonlat_assign(lon=np.array([113.7]), lat=np.array([34.7]), areas=areas_load())
    assert found.inside.tolist() == [False]
    assert found.zone_codes() == [""]


# --- the command -------------------------------------------------------------------------------


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _geocode(**options) -> str:
    """``manage.py geocode --in … --out …`` (the options' destinations are in_path, out_path)."""
    dest = {"in": "in_path", "out": "out_path"}
    out = io.StringIO()
    options = {dest.get(k, k): v for k, v in options.items()}
    call_command("geocode", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_the_command_keeps_every_row_and_column_and_appends_the_areas(district, tmp_path):
    lon_in, lat_in = lonlat(40, 155)
    lon_out, lat_out = lonlat(450, 100)
    source = _write(
        tmp_path / "cases.csv",
        "\ufeff编号,描述,经度,纬度,备注\n"
        f'007,"井盖破损, 需处理",{lon_in:.8f},{lat_in:.8f},\n'
        f'008,"说 ""东门""\n第二行",{lon_out:.8f},{lat_out:.8f},x\n'
        f"009,无坐标,,{lat_in:.8f},  \n"
        f"010,坏坐标,abc,{lat_in:.8f},y\n",
    )
    summary = _geocode(
        **{"in": str(source), "out": str(tmp_path / "out.csv"), "lon": "经度", "lat": "纬度"}
    )
    rows = _read(tmp_path / "out.csv")
    assert rows[0] == ["编号", "描述", "经度", "纬度", "备注", *OUTPUT_COLUMNS]
    original = list(csv.reader(io.StringIO(source.read_text("utf-8-sig"))))
    assert [r[:5] for r in rows] == original  # every value as it was: "007", "", "  ", quotes
    assert len(rows) == 5
    added = [dict(zip(OUTPUT_COLUMNS, r[5:], strict=True)) for r in rows[1:]]
    assert added[0] == {
        "subdistrict_code": "410199001",
        "subdistrict_name": "测试街道",
        "community_code": "410199001001",
        "community_name": "西社区",
        "grid_code": "410199001001001",
        "zone_codes": "F1;J1;P1",
        "inside": "true",
        "geocode_note": "",
    }
    assert added[1]["inside"] == "false" and added[1]["geocode_note"] == "outside the district"
    assert added[1]["grid_code"] == "" and added[1]["zone_codes"] == ""
    assert (added[2]["inside"], added[2]["geocode_note"]) == ("", "经度 is empty")
    assert (added[3]["inside"], added[3]["geocode_note"]) == ("", "经度 is not a number")
    figures = {
        name.strip(): value
        for name, value in (line.rsplit(None, 1) for line in summary.splitlines()[:6])
    }
    assert figures == {
        "rows": "4",
        "inside": "1",
        "outside": "1",
        "invalid": "2",
        "经度 is empty": "1",
        "经度 is not a number": "1",
    }


@pytest.mark.parametrize("srs", ["gcj02", "bd09", "EPSG:4547", None])
def test_the_command_reads_offset_and_projected_coordinates(district, tmp_path, srs):
    spots = [(40, 155), (120, 30), (300, 250), (390, 10)]
    wgs = np.array([lonlat(x, y) for x, y in spots])
    if srs == "gcj02":
        xs, ys = crs.wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    elif srs == "bd09":
        xs, ys = crs.wgs84_to_bd09(wgs[:, 0], wgs[:, 1])
    elif srs == "EPSG:4547":
        xs = np.array([ORIGIN[0] + x for x, _ in spots])
        ys = np.array([ORIGIN[1] + y for _, y in spots])
    else:
        xs, ys = wgs[:, 0], wgs[:, 1]
    text = "x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(xs, ys, strict=True))
    options = {"in": str(_write(tmp_path / "p.csv", text)), "out": str(tmp_path / "o.csv")}
    _geocode(**options, lon="x", lat="y", **({"srs": srs} if srs else {}))
    grids = [r[2 + OUTPUT_COLUMNS.index("grid_code")] for r in _read(tmp_path / "o.csv")[1:]]
    assert grids == ["410199001001001", "410199001001002", "410199001002001", "410199001002002"]


def test_the_command_spots_swapped_columns(district, tmp_path):
    rng = np.random.default_rng(15)
    xy = zip(rng.uniform(10, 390, 50), rng.uniform(10, 290, 50), strict=True)
    points = [lonlat(x, y) for x, y in xy]
    text = "lon,lat\n" + "".join(f"{lat},{lon}\n" for lon, lat in points)
    summary = _geocode(
        **{"in": str(_write(tmp_path / "s.csv", text)), "out": str(tmp_path / "o.csv")},
        lon="lon",
        lat="lat",
    )
    assert "swapped" in summary and "--lon lon and --lat lat" in summary
    assert len(_read(tmp_path / "o.csv")) == 51


def test_the_command_reads_gbk(district, tmp_path):
    lon, lat = lonlat(300, 250)
    source = _write(tmp_path / "g.csv", f"名称,lon,lat\n东门,{lon},{lat}\n", encoding="gbk")
    _geocode(
        **{"in": str(source), "out": str(tmp_path / "o.csv")}, lon="lon", lat="lat", encoding="gbk"
    )
    rows = _read(tmp_path / "o.csv")
    assert rows[1][0] == "东门" and rows[1][3 + OUTPUT_COLUMNS.index("community_name")] == "东社区"


def _fails(tmp_path: Path, expected: list[str], **options) -> None:
    with pytest.raises(CommandError) as caught:
        _geocode(**options)
    for text in expected:
        assert text in str(caught.value)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.name == "o.csv"]
    assert not leftovers


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"in": "missing.csv"}, ["missing.csv", "no such file"]),
        ({"lon": "lng"}, ["no column 'lng'", "'id', 'lon', 'lat'"]),
        ({"srs": "wgs-85"}, ["unknown srs 'wgs-85'", "gcj02", "EPSG"]),
        ({"out": "p.csv"}, ["is the input file"]),
        ({"in": "clash.csv"}, ["already has the output column(s) grid_code"]),
        ({"in": "ragged.csv"}, ["could not be read as CSV"]),
        ({"in": "empty.csv"}, ["is empty"]),
    ],
)
def test_the_command_refuses_bad_input_and_writes_nothing(district, tmp_path, change, expected):
    _write(tmp_path / "p.csv", "id,lon,lat\n1,113.7,34.7\n")
    _write(tmp_path / "clash.csv", "id,lon,lat,grid_code\n1,113.7,34.7,x\n")
    _write(tmp_path / "ragged.csv", "id,lon,lat\n1,113.7,34.7\n2,113.7\n")
    _write(tmp_path / "empty.csv", "")
    options = {"in": "p.csv", "out": "o.csv", "lon": "lon", "lat": "lat"} | change
    for key in ("in", "out"):
        options[key] = str(tmp_path / options[key])
    _fails(tmp_path, expected, **options)
    if change.get("out") == "p.csv":
        assert (tmp_path / "p.csv").read_text() == "id,lon,lat\n1,113.7,34.7\n"


def test_the_grid_index_agrees_with_a_changed_district(district):
    # The areas are read afresh on every load: a deleted grid is gone at once.
    lon, lat = lonlat(300, 60)
    assert lonlat_assign(lon=[lon], lat=[lat], areas=areas_load()).grid[0] >= 0
    UnitGrid.objects.filter(code="410199001002002").delete()
    assert lonlat_assign(lon=[lon], lat=[lat], areas=areas_load()).grid[0] == -1


# --- the demo district -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo district, loaded in a transaction that is rolled back after this module (its
    test comes last, so that the others see the small district alone)."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_load(directory=Path(settings.BASE_DIR) / "fixtures" / "geo")
        yield
        transaction.set_rollback(True)


def test_same_answers_on_the_demo_district(demo, db):
    areas = areas_load()
    assert len(areas.grids) > 900 and len(areas.zone_codes) > 1800
    west, south, east, north = district_extent_wgs84()
    rng = np.random.default_rng(14)
    lon = rng.uniform(west - 0.002, east + 0.002, 1500)
    lat = rng.uniform(south - 0.002, north + 0.002, 1500)
    # Grid corners: points shared by several grids (and zones), through the WGS-84 round trip.
    corners = np.concatenate([np.asarray(g.exterior.coords) for g in _polygons(areas)[::9]])
    back = Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True)
    clon, clat = back.transform(corners[:, 0], corners[:, 1])
    found = _assert_same_as_single_point(np.r_[lon, clon], np.r_[lat, clat])
    assert 0.5 < found.inside[:1500].mean() < 1


def _polygons(areas: Areas) -> list:
    return [poly for grid in areas.grids.geoms for poly in grid.geoms]
