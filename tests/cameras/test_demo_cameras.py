"""The demo district's ~600 cameras (fixtures/geo/cameras.geojson, drawn by
gridmap.demo.cameras): where they stand, where they look, and that the demo's camera unit can
post an event for its cameras.

The demo is loaded once for the module (committed, removed at the end), as in
tests/gridmap/test_demo.py.
"""

import itertools
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cameras.models import Camera, CameraEvent
from cases.models import Case
from gridmap.demo import plan
from gridmap.demo.cameras import junctions
from gridmap.demo.loader import demo_load
from gridmap.models import District
from tests.gridmap import test_demo


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        there_before = District.objects.filter(code=plan.DISTRICT[0]).exists()
        counts = demo_load(directory=test_demo.FIXTURES)
        try:
            yield counts
        finally:
            if not there_before:
                test_demo._unload()


def _rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


@pytest.mark.django_db
def test_about_600_cameras_all_inside_the_district(demo):
    assert demo["cameras"] == Camera.objects.count()
    assert 550 <= Camera.objects.count() <= 650
    outside = _rows(
        "SELECT c.code FROM cameras_camera c, gridmap_district d "
        "WHERE d.code = %s AND NOT ST_Contains(d.geom, c.geom)",
        [plan.DISTRICT[0]],
    )
    assert outside == []
    assert Camera.objects.filter(code__regex=r"^MH-CAM-\d{4}$").count() == Camera.objects.count()


@pytest.mark.django_db
def test_headings_ranges_fields_of_view_and_domes(demo):
    cameras = list(Camera.objects.all())
    assert all(0 <= c.heading_deg < 360 for c in cameras)
    assert all(30 <= c.range_m <= 150 for c in cameras)
    assert all(40 <= c.fov_deg <= 90 for c in cameras)
    assert all(4 <= c.mount_height_m <= 12 for c in cameras)
    domes = [c for c in cameras if c.ptz]
    assert 0.10 <= len(domes) / len(cameras) <= 0.15
    assert all(c.heading_deg == 0 and c.effective_fov_deg == 360 for c in domes)
    # They look every way, not all north.
    assert len({round(c.heading_deg) for c in cameras if not c.ptz}) > 8
    assert {c.owner for c in cameras} == {"公安天网", "城管"}
    streams = [c.stream_url for c in cameras if c.stream_url]
    assert 0 < len(streams) < len(cameras) / 5
    assert all(s.endswith(".m3u8") for s in streams)
    assert not any(c.snapshot_url for c in cameras)
    assert all(c.status == "unknown" and c.last_heartbeat_at is None for c in cameras)


@pytest.mark.django_db
def test_junction_cameras_stand_at_junctions_and_look_down_a_road(demo):
    fixed = Camera.objects.filter(name__contains="交叉口", ptz=False)
    assert fixed.count() >= 200
    # 60 m ahead of each along its heading (degrees clockwise from grid north) lies the road
    # it is named after, within its half-width and sidewalk: it looks down that road.
    astray = _rows(
        """
        SELECT c.code, c.name FROM cameras_camera c
         WHERE c.name LIKE '%%交叉口%%' AND NOT c.ptz AND NOT EXISTS (
           SELECT 1 FROM gridmap_road r
            WHERE r.name = split_part(c.name, '与', 1)
              AND ST_DWithin(r.geom, ST_Translate(c.geom, 60 * sin(radians(c.heading_deg)),
                                                  60 * cos(radians(c.heading_deg))), 26))
        """
    )
    assert astray == []
    # Each stands within 40 m of a node where three or more road segments meet.
    far = _rows(
        """
        WITH ends AS (
          SELECT ST_SnapToGrid(ST_StartPoint(geom), 0.05) AS p FROM gridmap_road
          UNION ALL SELECT ST_SnapToGrid(ST_EndPoint(geom), 0.05) FROM gridmap_road),
        nodes AS (SELECT p FROM ends GROUP BY p HAVING count(*) >= 3)
        SELECT c.code FROM cameras_camera c
         WHERE c.name LIKE '%%交叉口%%'
           AND NOT EXISTS (SELECT 1 FROM nodes n WHERE ST_DWithin(n.p, c.geom, 40))
        """
    )
    assert far == []
    assert len(_rows("SELECT 1 FROM cameras_camera WHERE name LIKE '%%交叉口 东向'")) > 20


@pytest.mark.django_db
def test_wall_cameras_hang_on_a_building_facing_a_street(demo):
    walls = Camera.objects.filter(name__contains="外墙")
    assert walls.count() >= 150
    off_wall = _rows(
        """
        SELECT c.code FROM cameras_camera c WHERE c.name LIKE '%%外墙%%' AND NOT EXISTS (
          SELECT 1 FROM gridmap_building b
           WHERE ST_DWithin(ST_Boundary(b.geom), c.geom, 0.05))
        """
    )
    assert off_wall == []
    streetless = _rows(
        """
        SELECT c.code FROM cameras_camera c WHERE c.name LIKE '%%外墙%%' AND NOT EXISTS (
          SELECT 1 FROM gridmap_road r WHERE ST_DWithin(r.geom, c.geom, 40))
        """
    )
    assert streetless == []


@pytest.mark.django_db
def test_junction_cameras_and_domes_post_through_the_demo_camera_unit(demo, client):
    bound = Counter(
        (c.device_user.username if c.device_user else None, "交叉口" in c.name)
        for c in Camera.objects.select_related("device_user")
    )
    assert set(bound) == {("camera_unit", True), (None, False)}
    camera = Camera.objects.filter(name__contains="交叉口", ptz=False).order_by("code").first()
    token, _ = Token.objects.get_or_create(user=camera.device_user)
    response = client.post(
        "/api/v1/camera-events",
        {"camera": camera.code, "at": timezone.now().isoformat(), "category": "暴露垃圾"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 201, response.json()
    case = Case.objects.get(pk=response.json()["case"])
    assert case.source == "camera" and case.community is not None and case.grid is not None
    assert CameraEvent.objects.get(case=case).camera == camera


def test_the_generator_finds_the_junctions_of_the_demo_roads():
    """Nodes of degree 3 and 4 only, each with arms in distinct directions."""
    from gridmap.demo.features import Feature
    from gridmap.demo.generate import _base

    base = _base()
    roads = [
        Feature(s.line, {"name": s.name, "road_class": s.road_class, "code": s.code})
        for s in base.segments
    ]
    found = junctions(roads)
    assert 60 <= len(found) <= 90
    assert {len(j.arms) for j in found} <= {3, 4}
    for j in found:
        bearings = sorted(a.bearing for a in j.arms)
        gaps = [b - a for a, b in itertools.pairwise(bearings)]
        assert min(gaps) > 20, (j.x, j.y, bearings)
