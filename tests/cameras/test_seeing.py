"""Which cameras see a place: ``GET /api/v1/cameras/seeing``, the camera map layer, a case's
cameras. Hand-drawn viewsheds on the small district (tests/factories.py), in local metres:

    y
    200 +        +---------------A's viewshed----+
        |        |                               |      D (300, 250) sees only the north-east
    180 |  +-----|--B's viewshed----------+      |      corner x 280..350, y 200..280
        |  |     |       P (150,150)      B (250,150), looking west
    120 |  +-----|------------------------+      |
     90 |        +-------------------------------+
        |    A (100,100), looking north-east        C (150,160): its viewshed is not computed
        0        100                     200   250

P lies in the west community (x < 200); A is 70.7 m from P at a bearing of 45°, B 100 m at 270°.
"""

import math

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cameras.models import Camera
from cameras.seeing import cameras_seeing
from cases.services import case_report
from gridmap.models import User
from tests.factories import (
    CategoryFactory,
    UserFactory,
    lonlat,
    point,
    rect,
    small_district,
)

pytestmark = pytest.mark.django_db

SEEING = reverse("cameras-seeing")


def camera(code: str, x: float, y: float, viewshed=None, **fields) -> Camera:
    """A camera at local (x, y) with a hand-drawn viewshed (a ``rect``) or none yet."""
    fields.setdefault("name", f"摄像头{code}")
    return Camera.objects.create(code=code, geom=point(x, y), viewshed_geom=viewshed, **fields)


@pytest.fixture
def place():
    area = small_district()
    area["A"] = camera(
        "A",
        100,
        100,
        rect(100, 90, 220, 200),
        heading_deg=45,
        status="online",
        stream_url="http://video.local/a/index.m3u8?token=1",
        snapshot_url="http://video.local/a.jpg",
    )
    area["B"] = camera(
        "B",
        250,
        150,
        rect(110, 120, 250, 180),
        heading_deg=270,
        status="offline",
        stream_url="rtsp://video.local/b",
    )
    area["C"] = camera("C", 150, 160, None, status="online")
    area["D"] = camera("D", 300, 250, rect(280, 200, 350, 280), ptz=True)
    return area


def login(client, role, **scope) -> User:
    name = "-".join(str(getattr(v, "code", v)) for v in scope.values())
    user = UserFactory(username=f"u-{role}-{name}", role=role, **scope)
    client.force_login(user)
    return user


def seeing(client, **params):
    return client.get(SEEING, params, HTTP_ACCEPT_LANGUAGE="en")


def test_the_cameras_whose_viewshed_covers_a_point_come_nearest_first(client, place):
    login(client, User.Role.DISPATCHER)
    lon, lat = lonlat(150, 150)
    response = seeing(client, lon=lon, lat=lat)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    a, b = body["cameras"]
    assert (a["code"], b["code"]) == ("A", "B")
    assert a["distance_m"] == pytest.approx(70.7, abs=0.1)
    assert a["bearing_deg"] == pytest.approx(45.0, abs=0.2)
    assert b["distance_m"] == pytest.approx(100.0, abs=0.1)
    assert b["bearing_deg"] == pytest.approx(270.0, abs=0.2)
    # How to watch each: A streams HLS (a query string after .m3u8 is fine), B only RTSP.
    assert a["hls"] is True and a["stream_url"].startswith("http://video.local/a/")
    assert a["snapshot_url"] == "http://video.local/a.jpg"
    assert b["hls"] is False and b["stream_url"] == "rtsp://video.local/b"
    assert (a["status"], b["status"]) == ("online", "offline")
    assert (a["lon"], a["lat"]) == pytest.approx(lonlat(100, 100), abs=1e-6)


def test_a_camera_without_a_computed_viewshed_or_looking_elsewhere_is_not_listed(client, place):
    login(client, User.Role.COMMANDER)
    # C stands 10 m from P but has no viewshed yet; D sees only the north-east corner.
    lon, lat = lonlat(150, 150)
    assert [c["code"] for c in seeing(client, lon=lon, lat=lat).json()["cameras"]] == ["A", "B"]
    lon, lat = lonlat(300, 250)
    assert [c["code"] for c in seeing(client, lon=lon, lat=lat).json()["cameras"]] == ["D"]
    lon, lat = lonlat(30, 30)
    assert seeing(client, lon=lon, lat=lat).json() == {
        "lon": pytest.approx(lon),
        "lat": pytest.approx(lat),
        "count": 0,
        "cameras": [],
    }


def test_a_point_on_the_edge_of_a_viewshed_is_seen(place):
    # In the storage CRS itself: through lon/lat the point would land a hair off the edge.
    operator = UserFactory(username="op", role=User.Role.OPERATOR)
    sights = cameras_seeing(point=point(220, 150), user=operator)  # A's east edge, inside B's
    assert [(s.camera.code, s.distance_m) for s in sights] == [("B", 30.0), ("A", 130.0)]


def test_the_point_may_be_given_in_another_crs(client, place):
    login(client, User.Role.SHIFT_LEADER)
    # P in EPSG:4547 itself (the factories draw in it).
    from tests.factories import ORIGIN

    response = seeing(client, lon=ORIGIN[0] + 150, lat=ORIGIN[1] + 150, srs="EPSG:4547")
    assert response.status_code == 200, response.content
    assert [c["code"] for c in response.json()["cameras"]] == ["A", "B"]
    assert seeing(client, lon=1, lat=2, srs="EPSG:999999").status_code == 400


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"lat": "34.6"}, "lon", "required"),
        ({"lon": "113.67"}, "lat", "required"),
        ({"lon": "east", "lat": "34.6"}, "lon", "number"),
        ({"lon": "213.67", "lat": "34.6"}, "lon", "-180"),
        ({"lon": "34.6", "lat": "113.67"}, "lat", "swapped"),
        ({"lon": "113.67", "lat": "34.6", "srs": "mercator-ish"}, "srs", "unknown srs"),
    ],
)
def test_malformed_points_are_refused_naming_the_problem(client, place, params, field, words):
    login(client, User.Role.DISPATCHER)
    response = seeing(client, **params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body
    assert words in " ".join(body[field])


def test_a_point_outside_the_district_is_refused(client, place):
    login(client, User.Role.DISPATCHER)
    response = seeing(client, lon=116.4, lat=39.9)
    assert response.status_code == 422
    assert "outside the district" in response.json()["lon"][0]


@pytest.mark.parametrize(
    "role",
    [
        User.Role.FIELD_MEMBER,
        User.Role.INSPECTOR,
        User.Role.PLANNER,
        User.Role.DEVICE,
        User.Role.DEPARTMENT_HEAD,
    ],
)
def test_roles_that_do_not_watch_cameras_are_refused(client, place, role):
    login(client, role)
    lon, lat = lonlat(150, 150)
    response = seeing(client, lon=lon, lat=lat)
    assert response.status_code == 403
    assert "may not look at cameras" in response.json()["detail"]
    assert client.get(reverse("camera-list")).status_code == 403


def test_anonymous_users_must_log_in(client, place):
    lon, lat = lonlat(150, 150)
    assert seeing(client, lon=lon, lat=lat).status_code == 401


def test_a_community_lead_sees_only_the_cameras_in_their_community(client, place):
    # A stands in the west community, B and D in the east one; P is in the west.
    login(client, User.Role.COMMUNITY_LEAD, community=place["c1"])
    lon, lat = lonlat(150, 150)
    assert [c["code"] for c in seeing(client, lon=lon, lat=lat).json()["cameras"]] == ["A"]
    listed = client.get(reverse("camera-list")).json()["features"]
    assert [f["id"] for f in listed] == ["A", "C"]

    client.logout()
    login(client, User.Role.COMMUNITY_LEAD, community=place["c2"])
    assert [c["code"] for c in seeing(client, lon=lon, lat=lat).json()["cameras"]] == ["B"]
    client.logout()
    # A community lead account without a community sees none.
    UserFactory(username="lost", role=User.Role.COMMUNITY_LEAD)
    client.force_login(User.objects.get(username="lost"))
    assert seeing(client, lon=lon, lat=lat).json()["count"] == 0


def test_the_camera_layer_is_geojson_with_viewsheds_filtered_by_bbox(client, place):
    login(client, User.Role.COMMANDER)
    response = client.get(reverse("camera-list"))
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    by_code = {f["id"]: f for f in body["features"]}
    assert sorted(by_code) == ["A", "B", "C", "D"]
    a = by_code["A"]
    assert a["geometry"]["coordinates"] == pytest.approx(lonlat(100, 100), abs=1e-6)
    assert a["properties"]["viewshed"]["type"] == "MultiPolygon"
    ring = a["properties"]["viewshed"]["coordinates"][0][0]
    assert pytest.approx(lonlat(220, 200), abs=1e-6) in [tuple(p) for p in ring]
    assert by_code["C"]["properties"]["viewshed"] is None
    assert by_code["D"]["properties"]["ptz"] is True
    assert by_code["D"]["properties"]["fov_deg"] == 360

    # The north-east corner: D stands there; nobody else stands or looks there.
    (x0, y0), (x1, y1) = lonlat(290, 210), lonlat(400, 300)
    response = client.get(reverse("camera-list"), {"bbox": f"{x0},{y0},{x1},{y1}"})
    assert [f["id"] for f in response.json()["features"]] == ["D"]
    # West of everyone's position but inside B's viewshed: B is listed for what it sees.
    (x0, y0), (x1, y1) = lonlat(112, 125), lonlat(118, 130)
    response = client.get(reverse("camera-list"), {"bbox": f"{x0},{y0},{x1},{y1}"})
    assert [f["id"] for f in response.json()["features"]] == ["A", "B"]

    response = client.get(reverse("camera-list"), {"bbox": "1,2,3"})
    assert response.status_code == 400
    assert "bbox" in response.json()
    response = client.get(reverse("camera-list"), {"status": "online"})
    assert [f["id"] for f in response.json()["features"]] == ["A", "C"]


def test_a_cases_detail_lists_the_cameras_that_see_it(client, place):
    category = CategoryFactory(code="E9901", minor_name="暴露垃圾")
    lon, lat = lonlat(150, 150)
    case = case_report(source="inspector", category_code=category.code, lon=lon, lat=lat)
    login(client, User.Role.COMMANDER)
    response = client.get(reverse("case-detail", args=[case.pk]))
    assert response.status_code == 200
    cameras = response.json()["properties"]["cameras"]
    assert [(c["code"], c["distance_m"]) for c in cameras] == [("A", 70.7), ("B", 100.0)]

    # The reporter (a patrol inspector) sees the case but not the cameras: null, not [].
    client.logout()
    inspector = UserFactory(username="insp", role=User.Role.INSPECTOR)
    case.reporter = inspector
    case.save(update_fields=["reporter"])
    client.force_login(inspector)
    response = client.get(reverse("case-detail", args=[case.pk]))
    assert response.status_code == 200
    assert response.json()["properties"]["cameras"] is None


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    camera_xy=st.tuples(st.floats(0, 400), st.floats(0, 300)),
    place_xy=st.tuples(st.floats(0, 400), st.floats(0, 300)),
)
def test_distance_and_bearing_are_those_from_the_camera_to_the_place(camera_xy, place_xy):
    Camera.objects.all().delete()
    commander = UserFactory(username="boss", role=User.Role.COMMANDER)
    # A viewshed over the whole district: the place is always seen.
    camera("K", *camera_xy, rect(0, 0, 400, 300))
    (sight,) = cameras_seeing(point=point(*place_xy), user=commander)
    dx, dy = place_xy[0] - camera_xy[0], place_xy[1] - camera_xy[1]
    assert sight.distance_m == pytest.approx(math.hypot(dx, dy), abs=0.051)
    if math.hypot(dx, dy) > 1:
        expected = math.degrees(math.atan2(dx, dy)) % 360
        difference = abs(sight.bearing_deg - expected) % 360
        assert min(difference, 360 - difference) <= 0.06
