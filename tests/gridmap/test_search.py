"""Address search (地理编码): names, addresses, codes and intersections, selector and API.

Most tests use the small hand-drawn district (tests/factories.py) plus the roads and places drawn
below; the last ones use the demo district (明湖街道), loaded once for the module. The hand-drawn
names appear nowhere in the demo, so the two never get in each other's way.

The hand-drawn additions (local metres, x east, y north; the district is 0..400 × 0..300):

    西湖大道  east-west at y = 100, stored as four segments (0-100, 100-200, 200-300, 300-400)
    创新街    north-south at x = 150, two segments, crossing 西湖大道 at (150, 100)
    环湖路    a U: (300, 250) down to (300, 50), east to (380, 50), up to (380, 250); it meets
              西湖大道 twice, at (300, 100) and (380, 100)
    西湖      a lake, 20..80 × 200..260;  小西湖餐厅, Starbucks Coffee 星巴克, KFC 肯德基 (POIs)
"""

import pytest
from django.db import connection
from django.urls import reverse

from gridmap.models import STORAGE_SRID, Building, PointOfInterest, Water
from gridmap.selectors.search import address_search, normalize_query, split_intersection
from tests.factories import (
    RoadFactory,
    ZoneFactory,
    line,
    local_xy,
    point,
    rect,
    small_district,
)
from tests.gridmap.test_demo import demo  # noqa: F401  (the module-scoped demo fixture)


@pytest.fixture
def district(db):
    d = small_district()
    for n, (x0, x1) in enumerate([(0, 100), (100, 200), (200, 300), (300, 400)]):
        RoadFactory(
            code=f"XH{n}", name="西湖大道", road_class="primary", geom=line((x0, 100), (x1, 100))
        )
    RoadFactory(code="CX1", name="创新街", geom=line((150, 0), (150, 100)))
    RoadFactory(code="CX2", name="创新街", geom=line((150, 100), (150, 300)))
    RoadFactory(code="HH1", name="环湖路", geom=line((300, 250), (300, 50), (380, 50), (380, 250)))
    Water.objects.create(code="WX1", name="西湖", kind="lake", geom=rect(20, 200, 80, 260))
    for code, name, kind, address, x, y in [
        ("PX1", "小西湖餐厅", "restaurant", "创新街9号", 160, 220),
        ("PX2", "Starbucks Coffee 星巴克", "restaurant", "创新街12号", 160, 120),
        ("PX3", "KFC 肯德基", "restaurant", "西湖大道18号", 260, 110),
    ]:
        PointOfInterest.objects.create(
            code=code, name=name, kind=kind, address=address, geom=point(x, y)
        )
    ZoneFactory(
        code="P1", name="西社区巡查区", kind="patrol", holder="李四", geom=rect(0, 0, 200, 300)
    )
    return d


def _names(hits) -> list[str]:
    return [h.name for h in hits]


def _local(hit) -> tuple[float, float]:
    return local_xy(hit.lon, hit.lat)


def _near(xy, expected, tolerance_m=1.0) -> bool:
    return abs(xy[0] - expected[0]) <= tolerance_m and abs(xy[1] - expected[1]) <= tolerance_m


# --- Names ------------------------------------------------------------------------------------


def test_exact_name_first_then_prefix_then_substring(district):
    names = _names(address_search(q="西湖"))  # two characters: the bigram indexes
    assert names[:2] == ["西湖", "西湖大道"]  # the lake (exact), the road (prefix)
    assert names.index("西湖大道") < names.index("小西湖餐厅")  # a substring comes later


def test_a_longer_partial_name_finds_it_by_trigrams(district):
    assert _names(address_search(q="西湖餐厅")) == ["小西湖餐厅"]
    assert _names(address_search(q="湖大道")) == ["西湖大道", "KFC 肯德基"]  # its address


def test_one_character_matches_only_the_start_of_a_name(district):
    names = _names(address_search(q="西"))
    assert {"西湖", "西湖大道", "西社区"} <= set(names)
    assert "小西湖餐厅" not in names


def test_a_name_match_ranks_above_the_same_match_in_an_address(district):
    names = _names(address_search(q="西湖大道"))
    assert names[0] == "西湖大道"
    assert "KFC 肯德基" in names  # at 西湖大道18号


def test_an_address_finds_the_poi(district):
    [hit] = address_search(q="创新街9号")
    assert (hit.kind, hit.code, hit.name) == ("poi", "PX1", "小西湖餐厅")
    assert hit.bbox is None


@pytest.mark.parametrize("q", ["starbucks", "STARBUCKS COFFEE", "coffee", "Ｓｔａｒｂｕｃｋｓ"])
def test_english_names_match_in_any_case_and_width(district, q):
    hits = address_search(q=q)
    assert hits[0].name == "Starbucks Coffee 星巴克"
    assert hits[0].detail.endswith("创新街12号")  # the POI kind, then its address


def test_every_word_must_match(district):
    assert _names(address_search(q="kfc 西湖大道")) == ["KFC 肯德基"]
    assert address_search(q="kfc 创新街") == []


def test_a_road_of_many_segments_comes_back_once_at_its_middle(district):
    roads = [h for h in address_search(q="西湖大道") if h.kind == "road"]
    assert len(roads) == 1
    road = roads[0]
    assert road.code == "XH0"
    assert _near(_local(road), (200, 100))  # on the road, at its middle
    west, south = local_xy(road.bbox[0], road.bbox[1])
    east, north = local_xy(road.bbox[2], road.bbox[3])
    assert _near((west, south), (0, 100), 2) and _near((east, north), (400, 100), 2)


def test_a_curved_road_gets_a_point_on_the_road(district):
    [road] = address_search(q="环湖路", kinds=["road"])
    x, y = _local(road)
    # The U's centroid (340, 133) lies inside the U, off the road; the point is pulled onto it.
    on_a_side = (abs(x - 300) < 0.01 or abs(x - 380) < 0.01) and 50 <= y <= 250
    on_the_bottom = abs(y - 50) < 0.01 and 300 <= x <= 380
    assert on_a_side or on_the_bottom


def test_areas_come_with_a_box_and_the_area_they_lie_in(district):
    [community] = address_search(q="西社区", kinds=["community"])
    assert community.detail == "测试街道"
    assert _near(local_xy(*community.bbox[:2]), (0, 0), 2)
    assert _near(local_xy(*community.bbox[2:]), (200, 300), 2)
    x, y = _local(community)
    assert 0 < x < 200 and 0 < y < 300


# --- Codes, zones, kinds ---------------------------------------------------------------------


def test_a_grid_code_prefix_lists_that_communitys_grids(district):
    hits = address_search(q="410199001001")
    assert (hits[0].kind, hits[0].code) == ("community", "410199001001")  # the exact code
    grids = [h.code for h in hits if h.kind == "grid"]
    assert grids == ["410199001001001", "410199001001002"]
    assert all(h.detail == "西社区" for h in hits if h.kind == "grid")


def test_a_whole_grid_code_finds_that_grid_first(district):
    hit = address_search(q="410199001002001")[0]
    assert (hit.kind, hit.code, hit.detail) == ("grid", "410199001002001", "东社区")
    x, y = _local(hit)
    assert 200 < x < 400 and 150 < y < 300


def test_a_frontage_zone_is_found_by_its_holder_but_no_other_zone_is(district):
    [zone] = address_search(q="张记面馆")
    assert (zone.kind, zone.code) == ("zone", "F1")
    assert zone.detail.endswith("西社区")
    assert address_search(q="李四") == []  # a patrol inspector's name is no public search term


def test_kinds_limit_the_answer(district):
    assert {h.kind for h in address_search(q="西湖", kinds=["road"])} == {"road"}
    assert {h.kind for h in address_search(q="西湖", kinds=["poi", "water"])} == {"poi", "water"}


def test_limit(district):
    assert len(address_search(q="西", limit=2)) == 2


def test_wildcards_in_the_query_are_plain_characters(district):
    assert address_search(q="%") == []
    assert address_search(q="西_") == []


def test_normalize_query():
    assert normalize_query("  ＫＦＣ　 西湖\t大道 ") == "KFC 西湖 大道"
    assert normalize_query("瑞丰超市（经开店）") == "瑞丰超市（经开店）"  # full-width brackets stay


# --- Intersections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        "西湖大道与创新街",
        "西湖大道 创新街",
        "创新街和西湖大道",
        "创新街/西湖大道",
        "西湖大道与创新街交叉口",
        "西湖大道创新街路口",
        "西湖大道&创新街",
    ],
)
def test_an_intersection_is_where_the_two_roads_cross(district, q):
    hit = address_search(q=q)[0]
    assert hit.kind == "intersection"
    assert hit.code is None
    assert set(hit.name.removesuffix("交叉口").split("与")) == {"西湖大道", "创新街"}
    assert _near(_local(hit), (150, 100))
    assert hit.detail in {"西社区", "东社区"}


def test_two_roads_that_meet_twice_give_the_meeting_point_nearest_their_centre(district):
    hit = address_search(q="西湖大道与环湖路")[0]
    assert hit.kind == "intersection"
    assert _near(_local(hit), (300, 100))  # not (380, 100)


def test_roads_that_do_not_meet_make_no_intersection(district):
    assert [h for h in address_search(q="创新街与环湖路") if h.kind == "intersection"] == []


ROADS = ["航海东路", "经开第八大街", "经开第十八大街", "和平路", "人民路", "经南五路"]


@pytest.mark.parametrize(
    ("q", "pair"),
    [
        ("航海东路与经开第八大街", ("航海东路", "经开第八大街")),
        ("航海东路 经开第八大街", ("航海东路", "经开第八大街")),
        ("经开第八大街和航海东路", ("经开第八大街", "航海东路")),
        ("经开第八大街/航海东路", ("经开第八大街", "航海东路")),
        ("航海东路与经开第八大街交叉口", ("航海东路", "经开第八大街")),
        ("航海东路经开第八大街", ("航海东路", "经开第八大街")),  # run together
        ("和平路与人民路", ("和平路", "人民路")),  # 和 inside a name is no separator
        ("航海路和经开八大街", ("航海东路", "经开第八大街")),  # abbreviated, 第 dropped
    ],
)
def test_split_intersection(q, pair):
    assert split_intersection(q, ROADS)[0] == pair


@pytest.mark.parametrize(
    "q", ["航海东路", "经南五路217号", "人民路与", "与人民路", "航海东路与北京路"]
)
def test_split_intersection_needs_two_roads(q):
    assert split_intersection(q, ROADS) == []


# --- The API ---------------------------------------------------------------------------------


def test_the_api_answers_without_login(client, district):
    response = client.get(reverse("search"), {"q": "西湖", "limit": 3})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    lake = results[0]
    assert lake["kind"] == "water" and lake["code"] == "WX1" and lake["name"] == "西湖"
    assert set(lake) == {"kind", "code", "name", "detail", "lon", "lat", "bbox"}
    assert len(lake["bbox"]) == 4
    assert _near(local_xy(lake["lon"], lake["lat"]), (50, 230), 31)


def test_the_api_filters_by_kinds(client, district):
    response = client.get(reverse("search"), {"q": "西湖", "kinds": "road,intersection"})
    assert [r["kind"] for r in response.json()["results"]] == ["road"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({}, "q"),
        ({"q": "西" * 101}, "q"),
        ({"q": "西湖", "limit": "0"}, "limit"),
        ({"q": "西湖", "limit": "51"}, "limit"),
        ({"q": "西湖", "kinds": "road,street"}, "kinds"),
    ],
)
def test_the_api_says_400_for_malformed_input_naming_the_field(client, district, params, field):
    response = client.get(reverse("search"), params)
    assert response.status_code == 400
    assert field in response.json()


def test_the_api_is_rate_limited_per_client_address(client, district, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "lookup": "3/min",
        },
    }
    codes = [client.get(reverse("search"), {"q": "西湖"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = client.get(reverse("search"), {"q": "西湖"}, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200


# --- The demo district -----------------------------------------------------------------------


def _distance_to_road_m(lon: float, lat: float, name: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s), "
            "ST_Union(geom)) FROM gridmap_road WHERE name = %s",
            [lon, lat, STORAGE_SRID, name],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "q",
    [
        "航海东路与经开第八大街",
        "经开第八大街和航海东路",
        "航海东路 经开第八大街",
        "经开第八大街/航海东路",
    ],
)
def test_demo_intersection_lies_on_both_roads(db, demo, q):  # noqa: F811
    hit = address_search(q=q)[0]
    assert hit.kind == "intersection"
    assert _distance_to_road_m(hit.lon, hit.lat, "航海东路") < 1
    assert _distance_to_road_m(hit.lon, hit.lat, "经开第八大街") < 1


def test_demo_road_of_many_segments_once(db, demo):  # noqa: F811
    hits = address_search(q="航海东路", limit=50)
    roads = [h for h in hits if h.kind == "road"]
    assert [r.name for r in roads] == ["航海东路"]
    assert hits[0] == roads[0]
    assert _distance_to_road_m(roads[0].lon, roads[0].lat, "航海东路") < 0.01


@pytest.mark.parametrize(
    ("q", "kind", "name"),
    [
        ("明湖", "water", "明湖"),  # the lake before 明湖路, 明湖街道, 明湖社区…
        ("明湖社区", "community", "明湖社区"),
        ("锦荣", "community", "锦荣社区"),
        ("鸿福炒鸡店", "building", "鸿福炒鸡店"),
        ("经南五路217号", "poi", "康宁社区党群服务中心"),
        ("410171001001001", "grid", "锦荣社区第001网格"),
    ],
)
def test_demo_first_hit(db, demo, q, kind, name):  # noqa: F811
    hit = address_search(q=q)[0]
    assert (hit.kind, hit.name) == (kind, name)


def test_pg_trgm_takes_chinese_characters_for_word_characters(db):
    # True under the C.UTF-8 (or any UTF-8) locale bin/stack creates clusters with; under plain C
    # pg_trgm would see no trigram in a Chinese name and only the bigram indexes would help.
    with connection.cursor() as cursor:
        cursor.execute("SELECT show_trgm('航海东路'), show_trgm('航海东路') && show_trgm('海东路')")
        trigrams, shared = cursor.fetchone()
    assert len(trigrams) == 5  # "  航", " 航海", 航海东, 海东路, "东路 "
    assert shared


def _index_scan_rows(sql: str, params: list) -> dict[str, int]:
    """Rows each bitmap index scan of ``sql`` returned (sequential scans forbidden, so that the
    plan shows what the index can do whatever the planner would prefer on a table this small)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        [[plan]] = cursor.fetchone()
    found = {}

    def walk(node):
        if node["Node Type"] == "Bitmap Index Scan":
            found[node["Index Name"]] = node["Actual Rows"]
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return found


def test_demo_two_character_queries_need_the_bigram_index(db, demo):  # noqa: F811
    # What the migration's comment says: from "%炒鸡%" pg_trgm extracts no trigram, so its index
    # hands every building to the recheck; the bigram index hands over just the matches.
    total = Building.objects.count()
    matches = Building.objects.filter(name__icontains="炒鸡").count()
    assert 0 < matches < total / 10
    by_trigrams = _index_scan_rows(
        "SELECT id FROM gridmap_building WHERE name ILIKE %s", ["%炒鸡%"]
    )
    # (At least: the index also hands over dead rows that earlier tests left to vacuum.)
    assert by_trigrams["gridmap_building_name_trgm"] >= total
    by_bigrams = _index_scan_rows(
        "SELECT id FROM gridmap_building WHERE gridmap_bigrams(name) @> gridmap_bigrams(%s) "
        "AND name ILIKE %s",
        ["炒鸡", "%炒鸡%"],
    )
    assert matches <= by_bigrams["gridmap_building_name_bigram"] < total / 10
    # From three characters on, trigrams narrow it down themselves.
    three = Building.objects.filter(name__icontains="商务大厦").count()
    by_trigrams = _index_scan_rows(
        "SELECT id FROM gridmap_building WHERE name ILIKE %s", ["%商务大厦%"]
    )
    assert three <= by_trigrams["gridmap_building_name_trgm"] < total / 10
