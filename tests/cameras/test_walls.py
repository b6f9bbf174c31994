"""The video wall API: tiles, clearing, presets, "focus on a case", who may use it.

Cameras on the small district (local metres, tests/factories.py); the case is at P (150, 150):

    A (100, 100) sees P, 70.7 m       C (150, 160) 10 m from P, offline, sees nothing (yet)
    B (250, 150) sees P, 100 m        E (150, 100) 50 m from P, online, looks away
    D (300, 250) 180.3 m, online      F (390, 10) 277.8 m, online
"""

import pytest
from django.urls import reverse

from cameras.models import Camera, VideoWall, WallPreset, WallTile
from cases.services import case_report
from gridmap.models import User
from tests.cameras.test_seeing import camera
from tests.factories import CategoryFactory, UserFactory, lonlat, rect, small_district

pytestmark = pytest.mark.django_db


@pytest.fixture
def centre():
    area = small_district()
    area["A"] = camera("A", 100, 100, rect(100, 90, 220, 200), status="online")
    area["B"] = camera("B", 250, 150, rect(110, 120, 250, 180), status="online")
    area["C"] = camera("C", 150, 160, None, status="offline")
    area["D"] = camera("D", 300, 250, rect(280, 200, 350, 280), status="online")
    area["E"] = camera("E", 150, 100, rect(150, 20, 200, 90), status="online")
    area["F"] = camera("F", 390, 10, rect(360, 10, 390, 40), status="online")
    area["wall"] = VideoWall.objects.create(code="W1", name="指挥大厅")
    category = CategoryFactory(code="E9901", minor_name="暴露垃圾")
    lon, lat = lonlat(150, 150)
    area["case"] = case_report(source="hotline", category_code=category.code, lon=lon, lat=lat)
    return area


def login(client, role=User.Role.DISPATCHER, **scope) -> User:
    name = "-".join(str(getattr(v, "code", v)) for v in scope.values())
    user = UserFactory(username=f"u-{role}-{name}", role=role, **scope)
    client.force_login(user)
    return user


def post(client, url_name, *args, **data):
    return client.post(
        reverse(url_name, args=args),
        data,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def layout(body) -> dict:
    """{(row, col): camera code} of the tiles that show a camera."""
    return {(t["row"], t["col"]): t["camera"]["code"] for t in body["tiles"] if t["camera"]}


def test_a_new_wall_has_rows_times_columns_empty_tiles(client, centre):
    login(client)
    assert client.get(reverse("wall-list")).json() == [
        {"code": "W1", "name": "指挥大厅", "rows": 3, "cols": 3}
    ]
    body = client.get(reverse("wall-detail", args=["W1"])).json()
    assert [(t["row"], t["col"]) for t in body["tiles"]] == [
        (r, c) for r in range(3) for c in range(3)
    ]
    assert all(t["camera"] is None for t in body["tiles"])
    assert client.get(reverse("wall-detail", args=["NOPE"])).status_code == 404


def test_a_camera_is_put_on_a_tile_and_replaced(client, centre):
    login(client)
    response = post(client, "wall-tiles", "W1", row=0, col=1, camera="A")
    assert response.status_code == 200, response.content
    tile = response.json()["tiles"][1]
    assert tile["camera"]["code"] == "A" and tile["camera"]["status"] == "online"
    post(client, "wall-tiles", "W1", row=0, col=1, camera="B")
    post(client, "wall-tiles", "W1", row=2, col=2, camera="A")
    body = client.get(reverse("wall-detail", args=["W1"])).json()
    assert layout(body) == {(0, 1): "B", (2, 2): "A"}


@pytest.mark.parametrize(
    ("data", "status", "field", "words"),
    [
        ({"row": 3, "col": 0, "camera": "A"}, 400, "row", "rows are 0 to 2"),
        ({"row": 0, "col": 5, "camera": "A"}, 400, "col", "columns are 0 to 2"),
        ({"row": -1, "col": 0, "camera": "A"}, 400, "row", "greater than or equal to 0"),
        ({"row": 0, "col": 0}, 400, "camera", "required"),
        ({"row": 0, "col": 0, "camera": "ZZ"}, 404, "detail", "no camera ZZ"),
    ],
)
def test_bad_tile_assignments_are_refused_and_change_nothing(
    client, centre, data, status, field, words
):
    login(client)
    post(client, "wall-tiles", "W1", row=1, col=1, camera="A")
    response = post(client, "wall-tiles", "W1", **data)
    assert response.status_code == status, response.content
    message = response.json()[field]
    assert words in (message if isinstance(message, str) else " ".join(message))
    assert dict(WallTile.objects.values_list("row", "camera__code")) == {1: "A"}


def test_tiles_are_cleared_one_by_one_or_all_at_once(client, centre):
    login(client)
    for col, code in enumerate("ABC"):
        post(client, "wall-tiles", "W1", row=0, col=col, camera=code)
    response = post(client, "wall-clear", "W1", row=0, col=1)
    assert layout(response.json()) == {(0, 0): "A", (0, 2): "C"}
    response = post(client, "wall-clear", "W1", row=0)
    assert response.status_code == 400
    assert "both row and col" in response.json()["col"][0]
    response = post(client, "wall-clear", "W1")
    assert layout(response.json()) == {}


def test_a_preset_saves_the_layout_and_brings_it_back(client, centre):
    login(client)
    post(client, "wall-tiles", "W1", row=0, col=0, camera="A")
    post(client, "wall-tiles", "W1", row=1, col=2, camera="D")
    response = post(client, "wall-presets", "W1", name="早高峰")
    assert response.status_code == 201
    assert response.json()["tiles"] == [
        {"row": 0, "col": 0, "camera": "A"},
        {"row": 1, "col": 2, "camera": "D"},
    ]
    post(client, "wall-clear", "W1")
    post(client, "wall-tiles", "W1", row=2, col=2, camera="F")
    response = post(client, "wall-preset-apply", "W1", "早高峰")
    assert response.status_code == 200
    body = response.json()
    assert layout(body) == {(0, 0): "A", (1, 2): "D"}
    assert (body["placed"], body["skipped"]) == (2, [])
    assert body["presets"] == ["早高峰"]
    assert client.get(reverse("wall-presets", args=["W1"])).json()[0]["name"] == "早高峰"

    # Saving under the same name replaces it; a blank name is refused.
    post(client, "wall-clear", "W1")
    post(client, "wall-presets", "W1", name="早高峰")
    assert WallPreset.objects.get(name="早高峰").tiles == []
    assert post(client, "wall-presets", "W1", name="  ").status_code == 400
    response = post(client, "wall-preset-apply", "W1", "夜间")
    assert response.status_code == 404
    assert "no preset" in response.json()["detail"]


def test_a_preset_skips_cameras_that_are_gone_and_tiles_the_wall_no_longer_has(client, centre):
    login(client)
    WallPreset.objects.create(
        wall=centre["wall"],
        name="旧方案",
        tiles=[
            {"row": 0, "col": 0, "camera": "A"},
            {"row": 0, "col": 1, "camera": "GONE"},
            {"row": 4, "col": 0, "camera": "B"},
        ],
    )
    response = post(client, "wall-preset-apply", "W1", "旧方案")
    body = response.json()
    assert layout(body) == {(0, 0): "A"}
    assert body["placed"] == 1
    assert [(s["camera"], s["reason"]) for s in body["skipped"]] == [
        ("GONE", "no camera with this code"),
        ("B", "no such tile on this wall"),
    ]


def test_focus_on_a_case_puts_up_the_cameras_that_see_it_then_the_nearest_online_first(
    client, centre
):
    wall = centre["wall"]
    wall.rows, wall.cols = 2, 3
    wall.save()
    login(client)
    post(client, "wall-tiles", "W1", row=1, col=2, camera="F")  # replaced by the focus
    response = post(client, "wall-focus", "W1", case=centre["case"].pk)
    assert response.status_code == 200, response.content
    body = response.json()
    # A and B see P (nearest first); then the online ones by distance, E (50 m), D (180 m) and
    # F (278 m); only then C, offline although it is 10 m away.
    assert [(f["code"], f["sees"]) for f in body["focus"]] == [
        ("A", True),
        ("B", True),
        ("E", False),
        ("D", False),
        ("F", False),
        ("C", False),
    ]
    assert layout(body) == {
        (0, 0): "A",
        (0, 1): "B",
        (0, 2): "E",
        (1, 0): "D",
        (1, 1): "F",
        (1, 2): "C",
    }
    assert body["case"] == centre["case"].pk


def test_focus_on_a_small_wall_shows_the_nearest_seeing_cameras_only(client, centre):
    wall = centre["wall"]
    wall.rows, wall.cols = 1, 1
    wall.save()
    login(client)
    body = post(client, "wall-focus", "W1", case=centre["case"].pk).json()
    assert layout(body) == {(0, 0): "A"}


def test_focus_leaves_tiles_empty_when_there_are_fewer_cameras(client, centre):
    Camera.objects.exclude(code__in=["A", "C"]).delete()
    login(client)
    body = post(client, "wall-focus", "W1", case=centre["case"].pk).json()
    assert layout(body) == {(0, 0): "A", (0, 1): "C"}


def test_focus_needs_a_case_the_user_may_see(client, centre):
    login(client)
    response = post(client, "wall-focus", "W1", case=999999)
    assert response.status_code == 404
    response = post(client, "wall-focus", "W1", case="first")
    assert response.status_code == 400
    assert "case" in response.json()
    response = post(client, "wall-focus", "W1")
    assert response.status_code == 400
    assert WallTile.objects.count() == 0


@pytest.mark.parametrize(
    "role",
    [User.Role.COMMUNITY_LEAD, User.Role.FIELD_MEMBER, User.Role.PLANNER, User.Role.INSPECTOR],
)
def test_only_the_centres_staff_use_the_walls(client, centre, role):
    login(client, role, community=centre["c1"])
    assert client.get(reverse("wall-list")).status_code == 403
    response = post(client, "wall-tiles", "W1", row=0, col=0, camera="A")
    assert response.status_code == 403
    assert "may not use the video walls" in response.json()["detail"]
    assert post(client, "wall-focus", "W1", case=centre["case"].pk).status_code == 403
    assert client.get(reverse("wall-page", args=["W1"])).status_code == 403
    assert WallTile.objects.count() == 0


def test_the_wall_page_needs_a_login_and_an_existing_wall(client, centre):
    response = client.get(reverse("wall-page", args=["W1"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(reverse("wall-detail", args=["W1"])).status_code == 401
    login(client, User.Role.SHIFT_LEADER)
    assert client.get(reverse("wall-page", args=["NOPE"])).status_code == 404
    page = client.get(reverse("wall-page", args=["W1"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert "指挥大厅" in html and "vendor/hls.js/hls.min.js" in html


def test_the_top_bar_leads_the_centres_staff_to_the_first_wall(client, centre):
    VideoWall.objects.create(code="W2", name="值班室")
    login(client, User.Role.DISPATCHER)
    page = client.get(reverse("inbox-page")).content.decode()
    assert 'href="/wall/W1/"' in page
    client.logout()
    login(client, User.Role.COMMUNITY_LEAD, community=centre["c1"])
    page = client.get(reverse("inbox-page")).content.decode()
    assert "/wall/" not in page
