"""The camera admin without a browser: the viewshed handed to the change page's map, filters,
defaulted fields, the video wall's tiles and presets, read-only camera events."""

import json
import re

import pytest
from django.conf import settings
from django.urls import reverse

from cameras.models import CameraEvent, VideoWall, WallTile
from gridmap.models import User
from tests.cameras.test_seeing import camera
from tests.factories import UserFactory, lonlat, rect, small_district

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client):
    small_district()
    user = UserFactory(username="boss", role=User.Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def map_data(html: str) -> dict:
    found = re.search(
        r'<script id="viewshed-data-\d+" type="application/json">(.*?)</script>', html
    )
    assert found, "no viewshed data on the page"
    return json.loads(found.group(1))


def test_the_change_page_hands_the_viewshed_and_the_sector_to_its_map(client, boss):
    seen = camera("V1", 100, 100, rect(100, 100, 160, 160), heading_deg=90, fov_deg=60, range_m=50)
    html = client.get(reverse("admin:cameras_camera_change", args=[seen.pk])).content.decode()
    assert 'data-testid="viewshed-map"' in html
    assert "cameras/admin-viewshed.js" in html and "leaflet/leaflet.js" in html
    data = map_data(html)
    assert data["camera"]["coordinates"] == pytest.approx(lonlat(100, 100), abs=1e-7)
    ring = data["viewshed"]["coordinates"][0][0]
    assert pytest.approx(lonlat(160, 160), abs=1e-7) in [tuple(p) for p in ring]
    # The sector looks east: its far point on the heading lies 50 m east of the camera.
    sector = [tuple(p) for p in data["sector"]["coordinates"][0]]
    assert pytest.approx(lonlat(150, 100), abs=1e-7) in sector

    waiting = camera("V2", 300, 100, None)
    data = map_data(
        client.get(reverse("admin:cameras_camera_change", args=[waiting.pk])).content.decode()
    )
    assert data["viewshed"] is None and data["sector"]["type"] == "Polygon"


def test_the_list_filters_by_status_ptz_owner_and_defaults_and_searches_codes(client, boss):
    first = camera("C1", 10, 10, None, status="online", owner="公安", defaulted=["heading_deg"])
    camera("C2", 20, 10, None, status="offline", ptz=True, owner="城管")
    camera("C3", 30, 10, None, name="航海路口", status="offline", owner="城管")
    url = reverse("admin:cameras_camera_changelist")

    def listed(**params) -> list[str]:
        html = client.get(url, params).content.decode()
        return sorted(set(re.findall(r'class="field-code"><a [^>]*>(C\d)</a>', html)))

    assert listed() == ["C1", "C2", "C3"]
    assert listed(status__exact="offline") == ["C2", "C3"]
    assert listed(ptz__exact="1") == ["C2"]
    assert listed(owner__exact="公安") == ["C1"]
    assert listed(defaulted="yes") == ["C1"]
    assert listed(defaulted="no") == ["C2", "C3"]
    assert listed(q="航海") == ["C3"]
    # What the importer filled in by default is named on the camera's page.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    change = client.get(reverse("admin:cameras_camera_change", args=[first.pk])).content.decode()
    assert re.search(r"defaulted fields \(check on site\).*?heading \(°\)", change, re.S | re.I)


def test_a_wall_tile_outside_the_wall_is_refused_in_the_admin(client, boss):
    wall = VideoWall.objects.create(code="W1", name="指挥大厅", rows=2, cols=2)
    cam = camera("C1", 10, 10, None)
    url = reverse("admin:cameras_videowall_change", args=[wall.pk])
    form = {
        "code": "W1",
        "name": "指挥大厅",
        "rows": "2",
        "cols": "2",
        "tiles-TOTAL_FORMS": "1",
        "tiles-INITIAL_FORMS": "0",
        "tiles-0-row": "2",
        "tiles-0-col": "0",
        "tiles-0-camera": str(cam.pk),
        "presets-TOTAL_FORMS": "0",
        "presets-INITIAL_FORMS": "0",
    }
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(url, form)
    assert response.status_code == 200
    assert "Row 2 is not on a wall of 2 rows" in response.content.decode()
    assert WallTile.objects.count() == 0
    form["tiles-0-row"] = "1"
    response = client.post(url, form)
    assert response.status_code == 302
    assert WallTile.objects.get().camera == cam
    page = client.get(url).content.decode()
    assert reverse("wall-page", args=["W1"]) in page


def test_camera_events_are_read_only(client, boss):
    assert client.get(reverse("admin:cameras_cameraevent_add")).status_code == 403
    assert client.get(reverse("admin:cameras_cameraevent_changelist")).status_code == 200
    assert CameraEvent.objects.count() == 0
