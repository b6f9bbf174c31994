"""The geocoder: which subdistrict, community, grid and zones cover a point (service and API)."""

import pytest
from django.urls import reverse

from gridmap.selectors import geocode_point
from tests.factories import UserFactory, ZoneFactory, lonlat, rect, small_district

pytestmark = pytest.mark.django_db


@pytest.fixture
def district():
    return small_district()


def test_a_point_inside_gets_its_grid_community_subdistrict_and_zones(district):
    lon, lat = lonlat(40, 155)  # in C1's northern grid, inside frontage zone F1
    address = geocode_point(lon=lon, lat=lat)
    assert address.inside
    assert address.district.code == "410199"
    assert address.subdistrict.code == "410199001"
    assert address.community.code == "410199001001"
    assert address.community.name == "西社区"
    assert address.grid.code == "410199001001001"
    assert [(z.code, z.kind, z.holder) for z in address.zones] == [
        ("F1", "frontage", "张记面馆"),
        ("J1", "jurisdiction", ""),
    ]


@pytest.mark.parametrize(
    ("x", "y", "candidates"),
    [
        (100, 150, {"410199001001001", "410199001001002"}),  # C1's north / south grid edge
        (200, 75, {"410199001001002", "410199001002002"}),  # the C1 / C2 border
        (200, 150, {"410199001001001", "410199001001002", "410199001002001", "410199001002002"}),
    ],
)
def test_a_point_on_a_shared_edge_gets_one_of_the_grids_and_its_community(
    district, x, y, candidates
):
    # After the WGS-84 round trip the point lies on the edge or a hair beside it; either way the
    # answer is one grid, the same every time, and the community is that grid's community.
    lon, lat = lonlat(x, y)
    first = geocode_point(lon=lon, lat=lat)
    assert first.grid.code in candidates
    assert first.grid.code.startswith(first.community.code)
    assert geocode_point(lon=lon, lat=lat) == first


def test_a_point_in_a_community_without_grids_still_gets_its_community(district):
    district["c2"].grids.all().delete()
    lon, lat = lonlat(300, 100)
    address = geocode_point(lon=lon, lat=lat)
    assert address.grid is None
    assert address.community.code == "410199001002"
    assert address.subdistrict.code == "410199001"


def test_a_point_outside_is_outside(district):
    lon, lat = lonlat(450, 100)
    assert not geocode_point(lon=lon, lat=lat).inside
    assert not geocode_point(lon=-70.0, lat=40.0).inside  # far outside the storage CRS's domain


def test_the_api_answers_without_login(client, district):
    lon, lat = lonlat(300, 250)
    response = client.get(reverse("geocode"), {"lon": lon, "lat": lat})
    assert response.status_code == 200
    body = response.json()
    assert body["community"] == {"code": "410199001002", "name": "东社区"}
    assert body["grid"]["code"] == "410199001002001"
    assert body["zones"] == [
        {"code": "J1", "name": "执法一中队辖区", "kind": "jurisdiction", "holder": ""}
    ]


def test_the_api_says_422_outside_the_district(client, district):
    lon, lat = lonlat(-50, 100)
    response = client.get(reverse("geocode"), {"lon": lon, "lat": lat}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert "outside the district" in response.json()["detail"]


def test_the_api_spots_swapped_coordinates(client, district):
    lon, lat = lonlat(100, 100)
    response = client.get(
        reverse("geocode"), {"lon": lat, "lat": lon}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert "经度和纬度是否写反了" in response.json()["lat"][0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": "abc", "lat": "34.6"}, "lon"),
        ({"lat": "34.6"}, "lon"),
        ({"lon": "113.6", "lat": ""}, "lat"),
        ({"lon": "200", "lat": "34.6"}, "lon"),
        ({"lon": "nan", "lat": "34.6"}, "lon"),
    ],
)
def test_the_api_says_400_for_malformed_input_naming_the_field(client, district, params, field):
    response = client.get(reverse("geocode"), params)
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
    lon, lat = lonlat(100, 100)
    codes = [client.get(reverse("geocode"), {"lon": lon, "lat": lat}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = client.get(reverse("geocode"), {"lon": lon, "lat": lat}, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200


def test_a_renamed_or_new_area_shows_at_once(district):
    lon, lat = lonlat(40, 155)
    assert geocode_point(lon=lon, lat=lat).community.name == "西社区"
    district["c1"].name = "新西社区"
    district["c1"].save()
    assert geocode_point(lon=lon, lat=lat).community.name == "新西社区"
    ZoneFactory(code="F2", kind="frontage", name="新门前", geom=rect(30, 150, 50, 170))
    assert "F2" in [z.code for z in geocode_point(lon=lon, lat=lat).zones]


def test_the_public_sees_shop_holders_but_not_the_people_holding_other_zones(client, district):
    ZoneFactory(
        code="P1", kind="patrol", name="巡查一区", holder="监督员王伟", geom=rect(0, 0, 400, 300)
    )
    lon, lat = lonlat(40, 155)
    public = client.get(reverse("geocode"), {"lon": lon, "lat": lat}).json()["zones"]
    assert {z["code"]: z["holder"] for z in public} == {"F1": "张记面馆", "J1": "", "P1": ""}
    client.force_login(UserFactory(username="op", role="operator"))
    staff = client.get(reverse("geocode"), {"lon": lon, "lat": lat}).json()["zones"]
    assert {z["code"]: z["holder"] for z in staff}["P1"] == "监督员王伟"
