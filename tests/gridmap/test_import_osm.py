"""``manage.py import_osm``: OpenStreetMap extracts → roads, buildings, water, points of interest.

Three groups:

- the tag rules alone (no database): road classes, one-way, speeds, heights, kinds, the bbox;
- a small hand-made extract written with pyosmium, placed in the middle of the storage CRS's area
  of use and imported into the test database: junctions, ``oneway=-1``, a roundabout, a
  multipolygon with a hole, a bow-tie footprint, a river line, a surveillance camera, bad input;
- the real extract that pyrosm ships as its Helsinki test data (test.osm.pbf, 137 kB: in fact a
  corner of south-east Finland near Kotka, lon 26.93–26.97, lat 60.52–60.54),
  imported by ``manage.py`` in a subprocess into a fresh database migrated with
  ``GRIDMAP_SRID=3067`` (ETRS89 / TM35FIN), because the default storage CRS (EPSG:4547, China)
  cannot represent Finland. That database is dropped at the end.
"""

import itertools
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import osmium
import psycopg
import pyrosm
import pytest
import shapely
from django.conf import settings
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from gridmap.crs import area_of_use, in_storage_crs_domain
from gridmap.importing.osm import (
    OsmImportError,
    building_use,
    parse_bbox,
    parse_length_m,
    parse_levels,
    parse_speed_kmh,
    poi_kind,
    road_class_of,
    road_direction,
    split_at_junctions,
    water_kind,
)
from gridmap.models import Building, PointOfInterest, Road, Water

HELSINKI_PBF = Path(pyrosm.get_data("test_pbf"))
LAYER_MODELS = [Road, Building, Water, PointOfInterest]


# --- Tag rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("highway", "expected"),
    [
        ("motorway", "expressway"),
        ("trunk_link", "expressway"),
        ("primary", "primary"),
        ("tertiary", "secondary"),
        ("living_street", "branch"),
        ("unclassified", "branch"),
        ("service", "service"),
        ("steps", "footway"),
        ("cycleway", "footway"),
        ("proposed", None),
        ("construction", None),
        ("track", None),
    ],
)
def test_road_classes(highway, expected):
    assert road_class_of(highway) == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"oneway": "yes"}, (True, False)),
        ({"oneway": "1"}, (True, False)),
        ({"oneway": "true"}, (True, False)),
        ({"oneway": "-1"}, (True, True)),
        ({"junction": "roundabout"}, (True, False)),
        ({"junction": "roundabout", "oneway": "no"}, (False, False)),
        ({"highway": "motorway"}, (True, False)),
        ({"oneway": "no"}, (False, False)),
        ({"oneway": "reversible"}, (False, False)),
        ({}, (False, False)),
    ],
)
def test_one_way(tags, expected):
    """(one-way, drawn against the traffic so the line must be reversed)."""
    assert road_direction(tags) == expected


@pytest.mark.parametrize(
    ("maxspeed", "kmh"),
    [
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("30 mph", 48.3),
        ("none", None),
        ("FI:urban", None),
        ("signals", None),
        ("40;60", None),
        (None, None),
    ],
)
def test_speeds(maxspeed, kmh):
    assert parse_speed_kmh(maxspeed) == kmh


@pytest.mark.parametrize(
    ("text", "metres"),
    [("12", 12.0), ("12 m", 12.0), ("12.5", 12.5), ("12,5 m", 12.5), ("40 ft", 12.19),
     ("12'6\"", 3.81), ("tall", None), ("-3", None), ("0", None), (None, None)],
)  # fmt: skip
def test_lengths(text, metres):
    assert parse_length_m(text) == metres


@pytest.mark.parametrize(
    ("text", "floors"), [("6", 6), ("2.5", 3), ("0", None), ("a few", None), (None, None)]
)
def test_levels(text, floors):
    assert parse_levels(text) == floors


@pytest.mark.parametrize(
    ("building", "use"),
    [
        ("apartments", "residential"),
        ("house", "residential"),
        ("retail", "commercial"),
        ("office", "office"),
        ("warehouse", "industrial"),
        ("hospital", "public"),
        ("civic", "public"),
        ("yes", "other"),
        ("garages", "other"),
    ],
)
def test_building_uses(building, use):
    assert building_use(building) == use


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"amenity": "marketplace"}, "market"),
        ({"amenity": "kindergarten"}, "school"),
        ({"amenity": "clinic"}, "hospital"),
        ({"amenity": "fast_food"}, "restaurant"),
        ({"shop": "convenience"}, "shop"),
        ({"shop": "vacant"}, None),
        ({"leisure": "park"}, "park"),
        ({"amenity": "townhall"}, "government"),
        ({"amenity": "police"}, "government"),
        ({"office": "government"}, "government"),
        ({"highway": "bus_stop"}, "bus_stop"),
        ({"man_made": "surveillance", "surveillance:type": "camera"}, "surveillance"),
        ({"amenity": "parking"}, None),
    ],
)
def test_poi_kinds(tags, kind):
    assert poi_kind(tags) == kind


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"natural": "water"}, "lake"),
        ({"natural": "water", "water": "pond"}, "pond"),
        ({"natural": "water", "water": "canal"}, "canal"),
        ({"natural": "water", "water": "river"}, "river"),
        ({"waterway": "riverbank"}, "river"),
        ({"landuse": "reservoir"}, "lake"),
        ({"landuse": "basin"}, "pond"),
        ({"natural": "wood"}, None),
    ],
)
def test_water_kinds(tags, kind):
    assert water_kind(tags) == kind


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3", "expected four numbers"),
        ("a,b,c,d", "expected four numbers"),
        ("113.8,34.7,113.7,34.8", "minimum must be below the maximum"),
        ("34.7,113.7,34.8,113.8", "longitude and latitude swapped"),
        ("190,0,191,1", "longitudes must lie within"),
    ],
)
def test_malformed_bbox(text, message):
    with pytest.raises(OsmImportError, match=message):
        parse_bbox(text)


def test_bbox():
    assert parse_bbox(" 113.6, 34.7,113.8,34.9 ") == (113.6, 34.7, 113.8, 34.9)


def test_ways_are_cut_at_shared_nodes():
    # Way 1-2-3-4-5 meets another way at node 3 and passes node 5… only once: cut at 3.
    assert split_at_junctions([1, 2, 3, 4, 5], {3: 2, 5: 2}) == [(0, 2), (2, 4)]
    # A loop through node 2 twice (a figure of eight) is cut there.
    assert split_at_junctions([1, 2, 3, 4, 2, 6], {2: 2}) == [(0, 1), (1, 4), (4, 5)]


@given(st.lists(st.integers(0, 6), min_size=2, max_size=30))
def test_segments_cover_the_way_between_junctions(refs):
    use = {}
    for ref in refs:
        use[ref] = use.get(ref, 0) + 1
    segments = split_at_junctions(refs, use)
    assert segments[0][0] == 0 and segments[-1][1] == len(refs) - 1
    for (_, end), (start, _) in itertools.pairwise(segments):
        assert end == start  # consecutive, sharing their end node
    for a, b in segments:
        assert a < b
        assert all(use[refs[i]] == 1 for i in range(a + 1, b))  # no junction inside


# --- A hand-made extract in the test database --------------------------------------------------

# Offsets in degrees from the middle of the storage CRS's area of use (0.001° ≈ 100 m).
NODES = {
    # 建设路 (way 10, primary) runs west → east through nodes 1, 2, 3; way 11 meets it at node 2.
    1: (0.000, 0.000), 2: (0.001, 0.000), 3: (0.002, 0.000),
    4: (0.001, 0.001),                      # way 11: 4 → 2, oneway=-1 (traffic flows 2 → 4)
    5: (0.003, 0.000),                      # way 12: 3 → 5, bridge, 30 mph
    6: (0.004, 0.000), 7: (0.0045, 0.0005), 8: (0.0035, 0.0005),  # roundabout 6-7-8-6
    9: (0.003, -0.001),                     # way 13: 5 → 9 highway=proposed (ignored)
    # Buildings south of the road: 6 floors; "12.5 m"; a bow-tie (self-intersecting) ring.
    21: (0.0010, -0.0010), 22: (0.0012, -0.0010), 23: (0.0012, -0.0008), 24: (0.0010, -0.0008),
    26: (0.0014, -0.0010), 27: (0.0016, -0.0010), 28: (0.0016, -0.0008), 29: (0.0014, -0.0008),
    31: (0.0018, -0.0010), 32: (0.0020, -0.0008), 33: (0.0020, -0.0010), 34: (0.0018, -0.0008),
    # An office building with a courtyard (relation 40: outer way 41, inner way 42).
    43: (0.0000, -0.0030), 44: (0.0010, -0.0030), 45: (0.0010, -0.0020), 46: (0.0000, -0.0020),
    47: (0.0003, -0.0027), 48: (0.0007, -0.0027), 49: (0.0007, -0.0023), 50: (0.0003, -0.0023),
    # A pond (way 51) and a river line (way 52, no width: 10 m by default).
    53: (0.0050, -0.0030), 54: (0.0060, -0.0030), 55: (0.0060, -0.0020),
    56: (0.0050, 0.0020), 57: (0.0070, 0.0020),
    # Points: a camera, a bus stop, a restaurant, a car park (none of ours).
    60: (0.0005, 0.0002), 61: (0.0015, 0.0002), 62: (0.0025, 0.0002), 64: (0.0030, 0.0002),
    # A supermarket drawn as an area (way 63).
    65: (0.0022, -0.0010), 66: (0.0024, -0.0010), 67: (0.0024, -0.0008), 68: (0.0022, -0.0008),
}  # fmt: skip
NODE_TAGS = {
    60: {"man_made": "surveillance", "surveillance:type": "camera", "camera:direction": "90",
         "camera:mount": "pole", "surveillance:zone": "traffic"},
    61: {"highway": "bus_stop", "name": "建设路站"},
    62: {"amenity": "restaurant", "name": "Old Place", "name:zh": "老地方饭店",
         "addr:street": "建设路", "addr:housenumber": "8"},
    64: {"amenity": "parking"},
}  # fmt: skip
WAYS = {
    10: ([1, 2, 3], {"highway": "primary", "name": "Jianshe Road", "name:zh": "建设路"}),
    11: ([4, 2], {"highway": "residential", "oneway": "-1", "name": "幸福巷"}),
    12: ([3, 5], {"highway": "secondary", "bridge": "yes", "maxspeed": "30 mph"}),
    13: ([5, 9], {"highway": "proposed"}),
    14: ([6, 7, 8, 6], {"highway": "tertiary", "junction": "roundabout"}),
    15: ([5, 6], {"highway": "service", "maxspeed": "none"}),
    20: ([21, 22, 23, 24, 21], {"building": "apartments", "building:levels": "6"}),
    25: ([26, 27, 28, 29, 26], {"building": "yes", "height": "12.5 m"}),
    30: ([31, 32, 33, 34, 31], {"building": "retail"}),
    41: ([43, 44, 45, 46, 43], {}),
    42: ([47, 48, 49, 50, 47], {}),
    51: ([53, 54, 55, 53], {"natural": "water", "water": "pond", "name": "月湖"}),
    52: ([56, 57], {"waterway": "river", "name": "七里河"}),
    63: ([65, 66, 67, 68, 65], {"shop": "supermarket", "name": "丹尼斯"}),
}
RELATIONS = {
    40: ([("w", 41, "outer"), ("w", 42, "inner")], {"type": "multipolygon", "building": "office"}),
}


def _centre() -> tuple[float, float]:
    west, south, east, north = area_of_use(settings.GRIDMAP_SRID)
    return round((west + east) / 2, 3), round((south + north) / 2, 3)


def write_extract(path: Path, *, broken_multipolygon: bool = False) -> Path:
    """The hand-made extract as a PBF (nodes, then ways, then relations, ids ascending)."""
    lon0, lat0 = _centre()
    relations = dict(RELATIONS)
    if broken_multipolygon:  # its inner member is not in the file
        relations[70] = ([("w", 999, "outer")], {"type": "multipolygon", "building": "yes"})
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for nid, (dx, dy) in sorted(NODES.items()):
            location = (round(lon0 + dx, 7), round(lat0 + dy, 7))
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=location, version=1,
                                                     tags=NODE_TAGS.get(nid, {})))  # fmt: skip
        for wid, (nodes, tags) in sorted(WAYS.items()):
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=nodes, tags=tags, version=1))
        for rid, (members, tags) in sorted(relations.items()):
            writer.add_relation(
                osmium.osm.mutable.Relation(id=rid, members=members, tags=tags, version=1)
            )
    return path


def _osm_rows(model):
    return model.objects.filter(code__startswith="osm-")


def _counts() -> dict[str, int]:
    return {m.__name__: _osm_rows(m).count() for m in LAYER_MODELS}


def _import(*args) -> str:
    out = StringIO()
    call_command("import_osm", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.fixture
def extract(tmp_path):
    return write_extract(tmp_path / "minhu.osm.pbf")


@pytest.mark.django_db
def test_roads_become_segments_between_junctions(extract):
    _import(extract)
    roads = {r.code: r for r in _osm_rows(Road)}
    # Way 10 is cut at node 2 (where way 11 ends); the proposed road (13) neither counts as a
    # road nor cuts way 12 at node 5; the roundabout is one segment from and back to node 6.
    assert sorted(roads) == [
        "osm-w10-0", "osm-w10-1", "osm-w11-0", "osm-w12-0", "osm-w14-0", "osm-w15-0",
    ]  # fmt: skip
    assert roads["osm-w10-0"].geom.coords[-1] == roads["osm-w10-1"].geom.coords[0]
    assert roads["osm-w10-0"].name == "建设路"  # name:zh before name
    assert roads["osm-w10-0"].road_class == "primary"
    assert not roads["osm-w10-0"].oneway


@pytest.mark.django_db
def test_one_way_bridge_and_speed(extract):
    _import(extract)
    roads = {r.code: r for r in _osm_rows(Road)}
    # oneway=-1: drawn 4 → 2, traffic 2 → 4, so the stored line starts at node 2 (on 建设路).
    side = roads["osm-w11-0"]
    assert side.oneway and side.road_class == "branch"
    assert side.geom.coords[0] == roads["osm-w10-0"].geom.coords[-1]
    roundabout = roads["osm-w14-0"]
    assert roundabout.oneway and roundabout.geom.closed and roundabout.road_class == "secondary"
    bridge = roads["osm-w12-0"]
    assert bridge.bridge and bridge.speed_kmh == 48.3
    assert roads["osm-w15-0"].speed_kmh is None  # maxspeed=none


@pytest.mark.django_db
def test_buildings_heights_uses_and_repairs(extract):
    out = _import(extract)
    buildings = {b.code: b for b in _osm_rows(Building)}
    assert sorted(buildings) == ["osm-r40", "osm-w20", "osm-w25", "osm-w30"]
    flats = buildings["osm-w20"]
    assert (flats.use, flats.floors, flats.height_m) == ("residential", 6, 18.0)
    assert buildings["osm-w25"].height_m == 12.5 and buildings["osm-w25"].floors is None
    office = buildings["osm-r40"]
    assert office.use == "office" and len(office.geom[0]) == 2  # outer ring and the courtyard
    courtyard = shapely.from_wkt(office.geom.wkt)
    assert courtyard.area < shapely.box(*courtyard.bounds).area * 0.9
    # The bow-tie was repaired (make_valid: two triangles) and the report says so.
    assert buildings["osm-w30"].geom.valid and len(buildings["osm-w30"].geom) == 2
    assert "code osm-w30" in out and "Self-intersection" in out


@pytest.mark.django_db
def test_water_areas_and_buffered_river(extract):
    _import(extract)
    water = {w.code: w for w in _osm_rows(Water)}
    assert water["osm-w51"].kind == "pond" and water["osm-w51"].name == "月湖"
    river = water["osm-w52"]
    assert river.kind == "river"
    # A line ~0.002° of longitude long, 10 m wide by default, with round ends.
    length = river.geom.length / 2  # the perimeter of a long thin area ≈ twice its length
    assert 10 * (length - 20) < river.geom.area < 10 * length + 100


@pytest.mark.django_db
def test_points_of_interest_and_cameras(extract):
    out = _import(extract)
    pois = {p.code: p for p in _osm_rows(PointOfInterest)}
    assert sorted(pois) == ["osm-n60", "osm-n61", "osm-n62", "osm-w63"]  # not the car park
    camera = pois["osm-n60"]
    assert camera.kind == "surveillance"
    for kept in ("camera:direction=90", "camera:mount=pole", "surveillance:type=camera"):
        assert kept in camera.address
    assert "1 surveillance camera(s)" in out
    assert pois["osm-n61"].kind == "bus_stop" and pois["osm-n61"].name == "建设路站"
    assert pois["osm-n62"].name == "老地方饭店" and pois["osm-n62"].address == "建设路 8"
    shop = pois["osm-w63"]  # an area, stored as a point on its surface
    assert shop.kind == "shop" and shop.geom.geom_type == "Point"


@pytest.mark.django_db
def test_reimport_updates_in_place(extract):
    _import(extract)
    before = {m: dict(_osm_rows(m).values_list("code", "id")) for m in LAYER_MODELS}
    out = _import(extract)
    after = {m: dict(_osm_rows(m).values_list("code", "id")) for m in LAYER_MODELS}
    assert after == before
    assert "0 new" in out and " 6 updated" in out


@pytest.mark.django_db
def test_bbox_keeps_and_cuts(extract):
    lon0, lat0 = _centre()
    # The west end only: 建设路's first segment, 60 % of its second, and the side street.
    bbox = f"{lon0 - 0.0005},{lat0 - 0.0002},{lon0 + 0.0016},{lat0 + 0.0015}"
    out = _import(extract, f"--bbox={bbox}")
    roads = {r.code: r for r in _osm_rows(Road)}
    assert sorted(roads) == ["osm-w10-0", "osm-w10-1", "osm-w11-0"]
    whole, cut = roads["osm-w10-0"].geom, roads["osm-w10-1"].geom  # both 0.001° long uncut
    assert cut.coords[0] == whole.coords[-1]  # still drawn west → east, from the junction
    assert cut.length == pytest.approx(0.6 * whole.length, rel=0.01)
    assert _counts()["Building"] == 0 and _counts()["Water"] == 0
    pois = sorted(_osm_rows(PointOfInterest).values_list("code", flat=True))
    assert pois == ["osm-n60", "osm-n61"]
    assert "way outside --bbox" in out


@pytest.mark.django_db
def test_unassembled_multipolygon_is_reported(tmp_path):
    out = _import(write_extract(tmp_path / "broken.osm.pbf", broken_multipolygon=True))
    assert "multipolygon relation not assembled" in out
    assert not _osm_rows(Building).filter(code="osm-r70").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.osm.pbf", "no such file"),
        (lambda d: _write(d / "notes.osm.pbf", b"hello, this is not OSM\n"), "not a readable"),
        (
            lambda d: _write(d / "cut.osm.pbf", HELSINKI_PBF.read_bytes()[:5000]),
            "not a readable",
        ),
    ],
)
def test_bad_files_write_nothing(tmp_path, make, message):
    with pytest.raises(CommandError, match=message):
        _import(make(tmp_path))
    assert sum(_counts().values()) == 0


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.django_db
def test_bad_bbox_writes_nothing(extract):
    lon0, lat0 = _centre()
    with pytest.raises(CommandError, match="expected four numbers"):
        _import(extract, "--bbox=1,2,3")
    with pytest.raises(CommandError, match="contains none of the file's roads") as caught:
        _import(extract, f"--bbox={lon0 + 0.5},{lat0 + 0.5},{lon0 + 0.6},{lat0 + 0.6}")
    assert f"lon {lon0:.5f}" in str(caught.value)  # says where the data is
    assert sum(_counts().values()) == 0


@pytest.mark.django_db
def test_data_outside_the_storage_crs_is_refused():
    if in_storage_crs_domain(26.95, 60.53):
        pytest.skip(f"EPSG:{settings.GRIDMAP_SRID} can represent Finland")
    with pytest.raises(
        CommandError, match=f"area of use of the storage CRS EPSG:{settings.GRIDMAP_SRID}"
    ):
        _import(HELSINKI_PBF)
    with pytest.raises(CommandError, match="reaches outside the area of use"):
        _import(HELSINKI_PBF, "--bbox=26.94,60.52,26.96,60.54")
    assert sum(_counts().values()) == 0


# --- The real extract, in a database of its own -------------------------------------------------

HELSINKI_BBOX = "26.940,60.525,26.955,60.535"
TABLES = ["gridmap_road", "gridmap_building", "gridmap_water", "gridmap_pointofinterest"]


class OwnDatabase:
    """A fresh database on the project's cluster, migrated with another storage SRID."""

    def __init__(self, name: str, srid: int) -> None:
        db = settings.DATABASES["default"]
        self.server = {
            "host": db["HOST"],
            "port": db["PORT"],
            "user": db["USER"],
            "password": db["PASSWORD"],
        }
        self.name, self.srid = name, srid
        self.url = (
            f"postgis://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
            f"@{db['HOST']}:{db['PORT']}/{name}"
        )
        self.connection: psycopg.Connection | None = None

    def _admin(self, sql: str) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as admin:
            admin.execute(sql)

    def create(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.manage("migrate", "--no-input", check=True)
        self.connection = psycopg.connect(dbname=self.name, autocommit=True, **self.server)

    def drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def manage(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        env = {**os.environ, "DATABASE_URL": self.url, "GRIDMAP_SRID": str(self.srid)}
        result = subprocess.run(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result

    def rows(self, sql: str, params=None) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()

    def counts(self) -> dict[str, int]:
        return {t: self.rows(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}

    def ids(self) -> dict[str, dict[str, int]]:
        return {t: dict(self.rows(f"SELECT code, id FROM {t}")) for t in TABLES}


@pytest.fixture(scope="module")
def helsinki():
    """The shipped extract imported three ways: with --bbox (counted, then emptied), whole, and
    whole again; plus a garbage file that must fail. Returns what each run saw."""
    suffix = os.environ.get("TOX_PARALLEL_ENV", "")
    db = OwnDatabase(f"gridmap_osm3067_{suffix}_{os.getpid()}".lower(), 3067)
    db.create()
    try:
        runs = {}
        runs["bbox"] = db.manage("import_osm", str(HELSINKI_PBF), f"--bbox={HELSINKI_BBOX}")
        bbox_counts = db.counts()
        db.connection.execute(f"TRUNCATE {', '.join(TABLES)}")
        runs["first"] = db.manage("import_osm", str(HELSINKI_PBF))
        counts, ids = db.counts(), db.ids()
        runs["again"] = db.manage("import_osm", str(HELSINKI_PBF))
        ids_again = db.ids()
        garbage = Path(settings.BASE_DIR) / ".local" / f"not-osm-{os.getpid()}.osm.pbf"
        garbage.parent.mkdir(exist_ok=True)
        garbage.write_text("not a PBF\n")
        try:
            runs["garbage"] = db.manage("import_osm", str(garbage))
        finally:
            garbage.unlink()
        yield {
            "db": db,
            "runs": runs,
            "bbox_counts": bbox_counts,
            "counts": counts,
            "after_garbage": db.counts(),
            "ids": ids,
            "ids_again": ids_again,
        }
    finally:
        db.drop()


def test_helsinki_imports_every_layer(helsinki):
    for name in ("bbox", "first", "again"):
        assert helsinki["runs"][name].returncode == 0, helsinki["runs"][name].stderr
    counts = helsinki["counts"]
    assert counts["gridmap_road"] > 500
    assert counts["gridmap_building"] > 2000
    assert counts["gridmap_water"] >= 1  # one stream, buffered
    assert counts["gridmap_pointofinterest"] > 30
    db = helsinki["db"]
    classes = dict(db.rows("SELECT road_class, count(*) FROM gridmap_road GROUP BY 1"))
    assert set(classes) >= {"expressway", "secondary", "branch", "service", "footway"}
    assert classes["branch"] > classes["expressway"]
    kinds = dict(db.rows("SELECT kind, count(*) FROM gridmap_pointofinterest GROUP BY 1"))
    assert kinds["bus_stop"] > 30 and kinds["shop"] >= 1
    assert db.rows("SELECT count(*) FROM gridmap_road WHERE NOT ST_IsValid(geom)") == [(0,)]
    srids = db.rows("SELECT DISTINCT ST_SRID(geom) FROM gridmap_building")
    assert srids == [(3067,)]


def test_helsinki_streets(helsinki):
    db = helsinki["db"]
    [(segments, metres)] = db.rows(
        "SELECT count(*), sum(ST_Length(geom)) FROM gridmap_road WHERE name = 'Hiidenkirnuntie'"
    )
    assert segments > 10 and 1000 < metres < 10_000
    [(oneway, bridges)] = db.rows(
        "SELECT count(*) FILTER (WHERE oneway), count(*) FILTER (WHERE bridge) FROM gridmap_road"
    )
    assert oneway > 20 and bridges > 0
    # The motorway (E15 / valtatie) is one-way by OSM convention.
    assert db.rows("SELECT bool_and(oneway) FROM gridmap_road WHERE road_class = 'expressway'") == [
        (True,)
    ]


def test_helsinki_roads_are_noded(helsinki):
    """Every segment end lying on another segment is an end of that segment too (1 cm)."""
    db = helsinki["db"]
    bad = db.rows(
        "WITH ends AS (SELECT id, code, ST_StartPoint(geom) AS p FROM gridmap_road "
        "              UNION ALL SELECT id, code, ST_EndPoint(geom) FROM gridmap_road) "
        "SELECT e.code, r.code FROM ends e JOIN gridmap_road r "
        "  ON r.id <> e.id AND ST_DWithin(r.geom, e.p, 0.01) "
        "WHERE NOT ST_DWithin(ST_StartPoint(r.geom), e.p, 0.01) "
        "  AND NOT ST_DWithin(ST_EndPoint(r.geom), e.p, 0.01)"
    )
    assert bad == []
    # And there are junctions: ends shared by three or more segments.
    [(junctions,)] = db.rows(
        "SELECT count(*) FROM (SELECT p FROM (SELECT ST_StartPoint(geom) AS p FROM gridmap_road "
        "UNION ALL SELECT ST_EndPoint(geom) FROM gridmap_road) e GROUP BY p "
        "HAVING count(*) >= 3) j"
    )
    assert junctions > 100


def test_helsinki_buildings_height_from_levels(helsinki):
    db = helsinki["db"]
    rows = db.rows("SELECT floors, height_m FROM gridmap_building WHERE floors IS NOT NULL")
    assert rows and all(height == 3.0 * floors for floors, height in rows)
    uses = dict(db.rows("SELECT use, count(*) FROM gridmap_building GROUP BY 1"))
    assert uses["residential"] > 1000 and uses["industrial"] > 10 and uses["public"] > 10


def test_helsinki_has_no_cameras(helsinki):
    """The shipped extract maps no surveillance camera; the report says so (the hand-made
    extract above covers cameras)."""
    assert "the extract has no surveillance cameras" in helsinki["runs"]["first"].stdout
    assert helsinki["db"].rows(
        "SELECT count(*) FROM gridmap_pointofinterest WHERE kind = 'surveillance'"
    ) == [(0,)]


def test_helsinki_bbox_imports_less(helsinki):
    small, whole = helsinki["bbox_counts"], helsinki["counts"]
    assert 0 < small["gridmap_road"] < whole["gridmap_road"]
    assert 0 < small["gridmap_building"] < whole["gridmap_building"]
    assert small["gridmap_pointofinterest"] < whole["gridmap_pointofinterest"]


def test_helsinki_reimport_keeps_ids(helsinki):
    assert helsinki["ids_again"] == helsinki["ids"]
    assert " 0 new" in helsinki["runs"]["again"].stdout


def test_helsinki_garbage_file_fails_and_writes_nothing(helsinki):
    run = helsinki["runs"]["garbage"]
    assert run.returncode != 0
    assert "not a readable OpenStreetMap PBF file" in run.stderr
    assert helsinki["after_garbage"] == helsinki["counts"]
