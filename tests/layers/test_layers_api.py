"""GeoJSON layers by bounding box, and unit-grid details, scoped to the user's area."""

import pytest
from django.urls import reverse

from gridmap.models import User
from tests.factories import RoadFactory, UserFactory, line, local_xy, lonlat, small_district

pytestmark = pytest.mark.django_db


@pytest.fixture
def district():
    area = small_district()
    RoadFactory(code="R1", name="经开第一大街", geom=line((-50, 150), (450, 150)))
    return area


@pytest.fixture
def commander(client):
    user = UserFactory(username="commander", role=User.Role.COMMANDER)
    client.force_login(user)
    return user


@pytest.fixture
def west_lead(client, district):
    user = UserFactory(
        username="lead_west", role=User.Role.COMMUNITY_LEAD, community=district["c1"]
    )
    client.force_login(user)
    return user


def codes(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return sorted(f["properties"]["code"] for f in body["features"])


def bbox(x0, y0, x1, y1):
    (w, s), (e, n) = lonlat(x0, y0), lonlat(x1, y1)
    return f"{w},{s},{e},{n}"


def test_layers_need_a_login(client, district):
    response = client.get(reverse("layer", args=["grids"]))
    assert response.status_code == 401


def test_the_catalogue_lists_every_layer_with_a_title(client, commander):
    layers = client.get(reverse("layer-list")).json()
    names = {layer["name"] for layer in layers}
    assert {"grids", "communities", "zones", "roads", "buildings", "water", "teams"} <= names
    assert all(layer["title"] for layer in layers)


def test_a_layer_comes_back_as_wgs84_geojson(client, commander, district):
    body = client.get(reverse("layer", args=["communities"])).json()
    west = next(f for f in body["features"] if f["properties"]["code"] == "410199001001")
    assert west["geometry"]["type"] == "MultiPolygon"
    ring = west["geometry"]["coordinates"][0][0]
    corners = {tuple(round(v) for v in local_xy(lon, lat)) for lon, lat in ring}
    assert corners == {(0, 0), (200, 0), (200, 300), (0, 300)}


def test_bbox_limits_the_features(client, commander, district):
    url = reverse("layer", args=["grids"])
    assert codes(client.get(url, {"bbox": bbox(250, 200, 350, 280)})) == ["410199001002001"]
    assert len(codes(client.get(url))) == 4


def test_kind_filters_zones(client, commander, district):
    url = reverse("layer", args=["zones"])
    assert codes(client.get(url, {"kind": "frontage"})) == ["F1"]
    assert codes(client.get(url)) == ["F1", "J1"]


@pytest.mark.parametrize("value", ["1,2,3", "a,b,c,d", "10,10,5,5", "0,0,200,1"])
def test_a_malformed_bbox_is_400(client, commander, district, value):
    response = client.get(reverse("layer", args=["grids"]), {"bbox": value})
    assert response.status_code == 400
    assert "bbox" in response.json()


def test_an_unknown_layer_is_404(client, commander):
    assert client.get(reverse("layer", args=["nope"])).status_code == 404


def test_a_community_lead_sees_only_their_community_but_the_whole_basemap(client, west_lead):
    assert codes(client.get(reverse("layer", args=["communities"]))) == ["410199001001"]
    assert codes(client.get(reverse("layer", args=["grids"]))) == [
        "410199001001001",
        "410199001001002",
    ]
    # J1 covers the whole district, so it meets the west community too; F1 lies in it.
    assert codes(client.get(reverse("layer", args=["zones"]))) == ["F1", "J1"]
    assert codes(client.get(reverse("layer", args=["roads"]))) == ["R1"]


def test_grid_detail_names_community_and_zones(client, commander, district):
    body = client.get(reverse("grid-detail", args=["410199001001001"])).json()
    assert body["community"] == {"code": "410199001001", "name": "西社区"}
    assert body["area_m2"] == pytest.approx(30_000, rel=1e-6)
    assert [z["code"] for z in body["zones"]] == ["F1", "J1"]
    # F1 straddles the edge between C1's grids; C2's grids only touch nothing of it.
    east = client.get(reverse("grid-detail", args=["410199001002001"])).json()
    assert [z["code"] for z in east["zones"]] == ["J1"]


def test_another_communitys_grid_is_404_for_a_community_lead_as_if_it_did_not_exist(
    client, west_lead
):
    own = client.get(reverse("grid-detail", args=["410199001001001"]))
    other = client.get(reverse("grid-detail", args=["410199001002001"]))
    missing = client.get(reverse("grid-detail", args=["410199001009001"]))
    assert own.status_code == 200
    assert other.status_code == missing.status_code == 404
