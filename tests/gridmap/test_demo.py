"""The demo district: the generator's committed output, the loader and the two commands.

The demo is loaded once for this module (committed to the test database, removed at the end)
and the checks below read it the way later work will use it: grids tiling communities,
a noded road network for routing, buildings clear of roads for viewsheds, zones for dispatch.
"""

import io
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import CommandError, call_command
from django.db import connection

from cameras.models import Camera
from gridmap.demo import plan
from gridmap.demo.generate import LAYERS, MAX_FILE_BYTES, generate
from gridmap.demo.loader import demo_load, demo_password
from gridmap.models import (
    Building,
    Community,
    Component,
    ComponentClass,
    ConstructionSite,
    Department,
    District,
    PointOfInterest,
    ResponsibilityZone,
    Road,
    Subdistrict,
    Team,
    UnitGrid,
    User,
    Water,
)
from gridmap.selectors import nesting_violations

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "geo"

#: Every table the loader writes.
LOADED = [
    Camera,
    Component,
    PointOfInterest,
    ConstructionSite,
    Water,
    Building,
    Road,
    Team.jurisdictions.through,
    ResponsibilityZone,
    User,
    Team,
    Department,
    UnitGrid,
    Community,
    Subdistrict,
    District,
]


def _demo_keys() -> dict:
    """The natural keys of everything in the demo files, per model, children first."""
    org = json.loads((FIXTURES / "organisation.json").read_text("utf-8"))

    def codes(layer: str) -> list[str]:
        data = json.loads((FIXTURES / f"{layer}.geojson").read_text("utf-8"))
        return [f["properties"]["code"] for f in data["features"]]

    return {
        Camera: codes("cameras"),
        Component: codes("components"),
        PointOfInterest: codes("pois"),
        ConstructionSite: codes("construction_sites"),
        Water: codes("water"),
        Building: codes("buildings"),
        Road: codes("roads"),
        ResponsibilityZone: codes("zones"),
        User: [u["username"] for u in org["users"]],
        Team: [t["code"] for t in org["teams"]],
        Department: [d["code"] for d in org["departments"]],
        UnitGrid: codes("grids"),
        Community: codes("communities"),
        Subdistrict: codes("subdistricts"),
        District: codes("district"),
    }


def _unload() -> None:
    """Delete exactly the demo's rows (a team's jurisdiction links go with the team); the
    shipped categories stay, unlinked from the demo's departments."""
    from cameras.models import VideoWall
    from cases.models import Category

    VideoWall.objects.filter(code="WALL-01").delete()
    departments = _demo_keys().get(Department, [])
    Category.objects.filter(department__code__in=departments).update(department=None)
    for model, keys in _demo_keys().items():
        key = "username" if model is User else "code"
        model.objects.filter(**{f"{key}__in": keys}).delete()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo district, loaded once (committed) for the whole module and removed afterwards
    (unless it was there already, loaded by another module's fixture)."""
    with django_db_blocker.unblock():
        there_before = District.objects.filter(code=plan.DISTRICT[0]).exists()
        counts = demo_load(directory=FIXTURES)
        try:
            yield counts
        finally:
            if not there_before:
                _unload()


def _rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _snapshot() -> dict[str, list[tuple]]:
    """Every loaded table, every column (geometry as EWKB hex, password hashes included)."""
    result = {}
    for model in LOADED:
        fields = [f.attname for f in model._meta.concrete_fields]
        rows = model.objects.order_by("pk").values_list(*fields)
        result[model._meta.db_table] = [
            tuple(v.hexewkb if isinstance(v, GEOSGeometry) else v for v in row) for row in rows
        ]
    return result


# --- The committed files -----------------------------------------------------------------------


def test_committed_fixtures_are_what_the_generator_writes(tmp_path):
    generate(tmp_path)
    committed = sorted(p.name for p in FIXTURES.iterdir())
    generated = sorted(p.name for p in tmp_path.iterdir())
    assert (
        committed == generated == sorted([f"{n}.geojson" for n in LAYERS] + ["organisation.json"])
    )
    stale = [n for n in generated if (tmp_path / n).read_bytes() != (FIXTURES / n).read_bytes()]
    assert not stale, f"regenerate with `make demo-fixtures`: {stale} differ"


def test_files_are_rfc7946_and_small():
    for layer in LAYERS:
        path = FIXTURES / f"{layer}.geojson"
        assert path.stat().st_size < MAX_FILE_BYTES
        data = json.loads(path.read_text("utf-8"))
        assert data["type"] == "FeatureCollection"
        codes = [f["properties"]["code"] for f in data["features"]]
        assert codes == sorted(codes), layer
        for f in data["features"]:
            assert "name" in f["properties"]
        # WGS-84 (longitude, latitude) around 113.73 E, 34.72 N.
        first = data["features"][0]["geometry"]["coordinates"]
        while isinstance(first[0], list):
            first = first[0]
        assert 113.6 < first[0] < 113.8 and 34.6 < first[1] < 34.8


# --- What the loader stores -------------------------------------------------------------------


@pytest.mark.django_db
def test_counts(demo):
    assert District.objects.count() == 1
    assert Subdistrict.objects.get().geom.equals_exact(District.objects.get().geom)
    assert Community.objects.count() == 8
    assert UnitGrid.objects.count() >= 800
    assert len(set(UnitGrid.objects.values_list("land_use", flat=True))) >= 5
    zones = Counter(ResponsibilityZone.objects.values_list("kind", flat=True))
    assert zones["frontage"] >= 300
    assert zones["subcontract"] == 8
    assert 4500 <= Building.objects.count() <= 5500
    assert set(Building.objects.values_list("use", flat=True)) >= {
        "residential", "commercial", "office", "industrial", "public",
    }  # fmt: skip
    assert Building.objects.filter(floors__gte=26).exists()  # towers up to 33 floors
    pois = Counter(PointOfInterest.objects.values_list("kind", flat=True))
    assert pois["market"] == 4 and pois["school"] == 6 and pois["hospital"] == 3
    assert pois["restaurant"] == 60 and pois["shop"] > 0 and pois["bus_stop"] > 0
    assert pois["government"] >= 1
    assert 2 <= ConstructionSite.objects.count() <= 3
    assert Water.objects.filter(kind="river").exists()
    assert Department.objects.count() == 5
    assert Component.objects.count() >= 300
    assert {u.role for u in User.objects.all()} == set(User.Role.values)
    kinds = Counter(Team.objects.values_list("kind", flat=True))
    assert set(kinds) == set(Team.Kind.values)
    assert all(2 <= n <= 4 for n in kinds.values())
    assert demo["grids"] == UnitGrid.objects.count()


@pytest.mark.django_db
def test_grids_tile_each_community(demo):
    rows = _rows(
        "SELECT c.code, ST_Area(c.geom), SUM(ST_Area(g.geom)), SUM(g.area_m2) "
        "FROM gridmap_community c JOIN gridmap_unitgrid g ON g.community_id = c.id "
        "GROUP BY c.id ORDER BY c.code"
    )
    assert len(rows) == 8
    for code, area, grids, stored in rows:
        assert abs(grids / area - 1) < 0.001, code
        assert stored == pytest.approx(grids)
    overlaps = _rows(
        "SELECT a.code, b.code FROM gridmap_unitgrid a JOIN gridmap_unitgrid b "
        "ON a.id < b.id AND ST_Intersects(a.geom, b.geom) "
        "WHERE ST_Area(ST_Intersection(a.geom, b.geom)) > 1"
    )
    assert overlaps == []
    assert nesting_violations() == []
    # Numbered within the community: 15 digits, the community's code and a 3-digit sequence.
    for code, community in UnitGrid.objects.values_list("code", "community__code"):
        assert len(code) == 15 and code.startswith(community)


@pytest.mark.django_db
def test_roads_form_a_noded_network(demo):
    # Roads meet only at their end points: a routing graph can be built from them as they are.
    crossings = _rows(
        "SELECT a.code, b.code FROM gridmap_road a JOIN gridmap_road b "
        "ON a.id < b.id AND ST_Intersects(a.geom, b.geom) "
        "WHERE NOT ST_Covers(ST_Collect(ST_StartPoint(a.geom), ST_EndPoint(a.geom)), "
        "                    ST_Intersection(a.geom, b.geom)) "
        "   OR NOT ST_Covers(ST_Collect(ST_StartPoint(b.geom), ST_EndPoint(b.geom)), "
        "                    ST_Intersection(a.geom, b.geom))"
    )
    assert crossings == []
    # Every end is a junction shared exactly with another road, or a dead end at the river
    # (streets that do not bridge it stop 10 m from the water) or at the border.
    loose = _rows(
        "WITH ends AS (SELECT id, ST_StartPoint(geom) AS p FROM gridmap_road "
        "              UNION ALL SELECT id, ST_EndPoint(geom) FROM gridmap_road) "
        "SELECT r.code FROM ends e JOIN gridmap_road r ON r.id = e.id "
        "WHERE NOT EXISTS (SELECT 1 FROM ends o WHERE o.id <> e.id AND ST_Equals(o.p, e.p)) "
        "  AND NOT EXISTS (SELECT 1 FROM gridmap_water w WHERE w.kind = 'river' "
        "                  AND ST_DWithin(w.geom, e.p, 15)) "
        "  AND NOT EXISTS (SELECT 1 FROM gridmap_district d "
        "                  WHERE ST_DWithin(ST_Boundary(d.geom), e.p, 1))"
    )
    assert loose == []
    dead_ends_at_river = _rows(
        "WITH ends AS (SELECT id, ST_StartPoint(geom) AS p FROM gridmap_road "
        "              UNION ALL SELECT id, ST_EndPoint(geom) FROM gridmap_road) "
        "SELECT count(*) FROM ends e "
        "WHERE NOT EXISTS (SELECT 1 FROM ends o WHERE o.id <> e.id AND ST_Equals(o.p, e.p))"
    )[0][0]
    assert dead_ends_at_river >= 3
    assert Road.objects.filter(oneway=True).exists()
    bridges = Road.objects.filter(bridge=True)
    assert 2 <= bridges.count() <= 6
    # Only bridges cross the water.
    wet = _rows(
        "SELECT r.code FROM gridmap_road r JOIN gridmap_water w ON ST_Crosses(r.geom, w.geom) "
        "WHERE NOT r.bridge"
    )
    assert wet == []
    assert set(Road.objects.values_list("road_class", flat=True)) == {
        "primary", "secondary", "branch",
    }  # fmt: skip
    # One network: every junction reaches every other (across the bridges).
    ends = _rows(
        "SELECT encode(ST_AsEWKB(ST_StartPoint(geom)), 'hex'), "
        "encode(ST_AsEWKB(ST_EndPoint(geom)), 'hex') FROM gridmap_road"
    )
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for a, b in ends:
        parent[find(a)] = find(b)
    assert len({find(x) for x in list(parent)}) == 1


@pytest.mark.django_db
def test_buildings_stand_clear(demo):
    assert _rows(
        "SELECT count(*) FROM gridmap_building b JOIN gridmap_road r "
        "ON ST_DWithin(b.geom, r.geom, %s) "
        "WHERE r.road_class = 'branch' OR ST_DWithin(b.geom, r.geom, %s)",
        [
            plan.PROFILES["branch"].half_width_m + plan.PROFILES["branch"].sidewalk_m,
            plan.PROFILES["primary"].half_width_m,
        ],
    ) == [(0,)]
    assert _rows(
        "SELECT count(*) FROM gridmap_building b JOIN gridmap_water w "
        "ON ST_Intersects(b.geom, w.geom)"
    ) == [(0,)]
    assert _rows(
        "SELECT count(*) FROM gridmap_building a JOIN gridmap_building b "
        "ON a.id < b.id AND ST_Intersects(a.geom, b.geom)"
    ) == [(0,)]
    assert _rows(
        "SELECT count(*) FROM gridmap_building b JOIN gridmap_constructionsite s "
        "ON ST_Intersects(b.geom, s.geom)"
    ) == [(0,)]


@pytest.mark.django_db
def test_frontage_zones_lie_between_shop_and_street(demo):
    # In front of the holder's shop (touching it within 0.2 m), never over a building…
    assert _rows(
        "SELECT count(*) FROM gridmap_responsibilityzone z WHERE z.kind = 'frontage' "
        "AND NOT EXISTS (SELECT 1 FROM gridmap_building b "
        "                WHERE b.name = z.holder AND ST_DWithin(b.geom, z.geom, 0.2))"
    ) == [(0,)]
    assert _rows(
        "SELECT count(*) FROM gridmap_responsibilityzone z JOIN gridmap_building b "
        "ON ST_Intersects(z.geom, b.geom) WHERE z.kind = 'frontage'"
    ) == [(0,)]
    # …reaching the kerb of a street (at most a primary road's half width from its centre).
    assert _rows(
        "SELECT count(*) FROM gridmap_responsibilityzone z WHERE z.kind = 'frontage' "
        "AND NOT EXISTS (SELECT 1 FROM gridmap_road r WHERE ST_DWithin(r.geom, z.geom, %s))",
        [plan.PROFILES["primary"].half_width_m + 0.1],
    ) == [(0,)]
    zone = ResponsibilityZone.objects.filter(kind="frontage").first()
    assert zone.duties == "卫生、秩序、绿化、设施、市容"
    assert zone.contact.startswith("1380000") and len(zone.contact) == 11
    assert zone.community is not None and zone.community.geom.buffer(0.5).covers(zone.geom)


@pytest.mark.django_db
def test_patrol_and_jurisdiction_zones_partition_the_subdistrict(demo):
    subdistrict = Subdistrict.objects.get()
    grid_points = [g.geom.point_on_surface for g in UnitGrid.objects.only("geom")]
    groups = defaultdict(list)
    for zone in ResponsibilityZone.objects.filter(kind="patrol"):
        groups["patrol"].append(zone.geom)
        assert zone.responsible_user.role == "inspector"
    for team in Team.objects.prefetch_related("jurisdictions"):
        zones = list(team.jurisdictions.all())
        assert zones and all(z.kind == "jurisdiction" for z in zones)
        groups[team.kind] += [z.geom for z in zones]
        area = zones[0].geom
        assert area.covers(team.base_geom)
        assert Road.objects.filter(geom__dwithin=(team.base_geom, 0.5)).exists()
        assert Road.objects.filter(geom__dwithin=(team.position_geom, 0.5)).exists()
        assert team.base_geom.distance(team.position_geom) < 400
    assert len(groups) == 1 + len(Team.Kind.values)
    for kind, geoms in groups.items():
        assert sum(g.area for g in geoms) == pytest.approx(subdistrict.geom.area, rel=1e-3), kind
        for p in grid_points:  # every grid in exactly one zone of each kind
            assert sum(1 for g in geoms if g.covers(p)) == 1, kind


@pytest.mark.django_db
def test_people(demo):
    admin = User.objects.get(role="admin")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.filter(is_superuser=True).exclude(role="admin").exists()
    assert admin.check_password(demo_password())
    for community in Community.objects.select_related("leader"):
        assert community.leader.role == "community_lead"
        assert community.leader.community_id == community.id
        sub = ResponsibilityZone.objects.get(kind="subcontract", community=community)
        assert sub.responsible_user_id == community.leader_id
    for team in Team.objects.all():
        roles = Counter(team.members.values_list("role", flat=True))
        assert roles["team_leader"] == 1 and 1 <= roles["field_member"] <= 2
    assert Team.objects.filter(status="available").count() > Team.objects.count() / 2
    assert User.objects.filter(role="department_head").count() == Department.objects.count()
    assert User.objects.filter(role="inspector").count() == (
        ResponsibilityZone.objects.filter(kind="patrol").count()
    )
    lead = User.objects.get(username="lead_jinrong")
    assert lead.first_name and lead.phone and lead.community.name == "锦荣社区"


@pytest.mark.django_db
def test_components_follow_the_standard(demo):
    classes = {c.code for c in ComponentClass.objects.all()}
    for code, cls, major, minor in Component.objects.values_list(
        "code", "component_class_id", "component_class__major_code",
        "component_class__minor_code",
    ):  # fmt: skip
        assert len(code) == 16 and code.startswith("410171" + major + minor), code
        assert major + minor in classes, cls
    assert Component.objects.filter(
        component_class__minor_code="10", owner_department__name="市政办"
    )
    # Street furniture stands on the sidewalk: never inside a building (a public toilet is one).
    assert _rows(
        "SELECT count(*) FROM gridmap_component c JOIN gridmap_componentclass k "
        "ON k.id = c.component_class_id JOIN gridmap_building b ON ST_Intersects(b.geom, c.geom) "
        "WHERE k.major_code || k.minor_code <> '0301'"
    ) == [(0,)]
    conditions = Counter(Component.objects.values_list("condition", flat=True))
    assert conditions["good"] > 0.8 * sum(conditions.values()) and conditions["damaged"] > 0


# --- Idempotence and all-or-nothing ----------------------------------------------------------


@pytest.mark.django_db
def test_loading_twice_changes_nothing(demo):
    from cameras.models import VideoWall

    call_command("load_demo", directory=FIXTURES, stdout=io.StringIO())
    # The command also computes what the cameras see and sets up the centre's video wall.
    assert not Camera.objects.filter(viewshed_computed_at__isnull=True).exists()
    assert Camera.objects.exclude(viewshed_geom__isempty=True).count() > 500
    assert VideoWall.objects.get(code="WALL-01").tiles.count() == 9
    before = _snapshot()
    out = io.StringIO()
    call_command("load_demo", directory=FIXTURES, stdout=out)
    assert _snapshot() == before
    summary = out.getvalue()
    assert "grids" in summary and str(UnitGrid.objects.count()) in summary


def _broken_copy(tmp_path: Path, breakage) -> tuple[Path, str]:
    """A copy of the fixtures with one grid broken by ``breakage``; returns its code."""
    target = tmp_path / "geo"
    shutil.copytree(FIXTURES, target)
    path = target / "grids.geojson"
    data = json.loads(path.read_text("utf-8"))
    feature = data["features"][0]
    breakage(feature)
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return target, feature["properties"]["code"]


def _bow_tie(feature):
    ring = feature["geometry"]["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]


def _moved_west(feature):
    # 0.005° ≈ 460 m west: out of the district, so out of its community.
    for ring in feature["geometry"]["coordinates"]:
        for c in ring:
            c[0] -= 0.005


def _unknown_community(feature):
    feature["properties"]["community"] = "410171001099"


def _swapped(feature):
    for ring in feature["geometry"]["coordinates"]:
        for c in ring:
            c.reverse()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_bow_tie, "invalid geometry"),
        (_moved_west, "sticks out of its parent"),
        (_unknown_community, "must start with"),
        (_swapped, "swapped"),
    ],
)
def test_a_broken_file_fails_and_writes_nothing(demo, tmp_path, breakage, expected):
    directory, code = _broken_copy(tmp_path, breakage)
    before = _snapshot()
    with pytest.raises(CommandError) as failure:
        call_command("load_demo", directory=directory, stdout=io.StringIO())
    message = str(failure.value)
    assert code in message and expected in message and "grids.geojson" in message
    assert _snapshot() == before


# --- The accounts table --------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_accounts_lists_every_account(demo):
    out = io.StringIO()
    call_command("demo_accounts", stdout=out)
    text = out.getvalue()
    usernames = [
        u["username"] for u in json.loads((FIXTURES / "organisation.json").read_text())["users"]
    ]
    for username in usernames:
        assert username in text
    assert demo_password() in text
    assert "指挥长" in text and "commander" in text and "锦荣社区" in text
