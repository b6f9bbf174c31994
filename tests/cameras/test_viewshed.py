"""Viewsheds (cameras/viewshed.py): hand-drawn geometry, properties, storage and recomputation.

The geometry tests draw in plain metres (x east, y north). The street scene used by most of
them, seen from above:

      y
     40 |            +------+
        |            |  B2  |                   B1: x 40..60, y -10..10 (a block east of the eye)
     10 |            +------+  +-----+          B2: x 20..30, y 30..40 (north-east, off-axis)
        |   eye ▶              | B1  |   shadow of B1 beyond x 60
      0 +---*------------------|     |----------
        |  (0,0)               +-----+
    -10 |
        0       20      40    60      100 x

The camera at (0, 0) looks east (heading 90°) with a 60° field of view and a 100 m range.
"""

import math

import pytest
import shapely
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from cameras.coverage import CACHE_PREFIX, coverage_version
from cameras.models import Camera
from cameras.viewshed import (
    Obstacles,
    View,
    sector,
    viewshed,
    viewsheds_catch_up,
    viewsheds_compute_stale,
)
from gridmap.models import Building
from tests.cases.conftest import broker, celery_factory, wait_for  # noqa: F401
from tests.conftest import TEST_REDIS_URL
from tests.factories import point, rect

B1 = shapely.box(40, -10, 60, 10)
B2 = shapely.box(20, 30, 30, 40)
EAST = View(0, 0, heading_deg=90, fov_deg=60, range_m=100)


def seen(view: View, buildings, *points) -> list[bool]:
    shed, _ = viewshed(view, Obstacles(buildings))
    return [shed.contains(Point(p)) for p in points]


# --- Hand-drawn geometry -----------------------------------------------------------------------


def test_unobstructed_points_inside_the_sector_are_seen():
    # In front of B1, beside it (north and south of its shadow), and off-axis past B2's shadow.
    assert seen(EAST, [B1, B2], (30, 0), (20, 5), (80, 30), (80, -30), (90, 10 * 90 / 60 + 3))


def test_points_behind_a_building_are_not_seen_nor_its_interior():
    # Right behind B1, far behind it near the range, in its shadow's edge and inside it.
    assert seen(EAST, [B1, B2], (61, 0), (95, 0), (90, 14), (50, 0), (41, 9)) == [False] * 5


def test_points_outside_the_sector_or_range_are_not_seen():
    # Behind the camera, 45° off the heading (field of view ±30°), beyond 100 m.
    assert seen(EAST, [], (-10, 0), (30, 30), (0, 50), (101, 0), (99, 0)) == [
        False,
        False,
        False,
        False,
        True,
    ]


def test_a_building_partly_in_the_sector_still_casts_its_shadow():
    # B2 pokes into the sector's north edge (30° above the axis): the point behind it is hidden.
    building = shapely.box(40, 15, 50, 40)
    assert seen(EAST, [building], (70, 28), (70, 10)) == [False, True]


def test_a_concave_building_hides_its_courtyard_from_outside():
    # A U-shaped block open to the east, seen from the west: the courtyard is behind its wall.
    u_block = shapely.box(40, -20, 70, 20).difference(shapely.box(50, -10, 70, 10))
    assert seen(EAST, [u_block], (60, 0), (35, 0)) == [False, True]


def test_a_camera_on_a_wall_sees_out_from_the_wall_it_faces():
    # The camera's point is on the east wall of its own building (x -10..0): it sees the street.
    host = shapely.box(-10, -10, 0, 10)
    assert seen(EAST, [host, B1], (20, 0), (5, 2), (70, 0)) == [True, True, False]


def test_a_camera_surveyed_inside_its_building_looks_out_of_the_facing_wall():
    # A point 5 m inside the footprint (a survey error or a camera under the eaves): same view.
    host = shapely.box(-10, -10, 0, 10)
    inside = View(-5, 0, heading_deg=90, fov_deg=60, range_m=100)
    shed, eye = viewshed(inside, Obstacles([host, B1]))
    assert eye[0] == pytest.approx(0.1, abs=0.01) and eye[1] == pytest.approx(0, abs=1e-9)
    assert shed.contains(Point(20, 0)) and not shed.contains(Point(70, 0))
    assert shed.intersection(host).area < 1e-6


def test_terraced_houses_the_eye_leaves_the_whole_row():
    # Two footprints sharing a wall at x = -10: the camera in the western one faces east.
    row = [shapely.box(-20, -10, -10, 10), shapely.box(-10, -10, 0, 10)]
    _, eye = viewshed(View(-15, 0, 90, 60, 100), Obstacles(row))
    assert 0 < eye[0] < 0.2


def test_a_ptz_dome_sees_a_full_circle_except_behind_buildings():
    dome = View(0, 0, heading_deg=0, fov_deg=360, range_m=100)
    assert seen(dome, [B1], (-50, 0), (0, -50), (0, 50), (30, 0), (80, 0)) == [
        True,
        True,
        True,
        True,
        False,
    ]
    shed, _ = viewshed(dome, Obstacles([]))
    assert shed.area == pytest.approx(math.pi * 100**2, rel=0.002)


def test_a_dome_on_a_wall_does_not_see_through_its_building():
    host = shapely.box(-10, -10, 0, 10)
    dome = View(0, 0, heading_deg=90, fov_deg=360, range_m=100)
    assert seen(dome, [host], (20, 0), (0, 50), (-30, 0)) == [True, True, False]


def test_a_camera_in_a_courtyard_sees_only_the_courtyard():
    ring = shapely.box(-20, -20, 20, 20).difference(shapely.box(-10, -10, 10, 10))
    shed, _ = viewshed(View(0, 0, 90, 60, 100), Obstacles([ring]))
    # The triangle from the eye to the courtyard's east wall at x = 10, ±30°.
    assert shed.area == pytest.approx(10 * 10 * math.tan(math.radians(30)), rel=1e-6)


# --- Properties ----------------------------------------------------------------------------------


def _bearing_offset(dx: float, dy: float, heading: float) -> float:
    """Angle (°, 0..180) between the bearing of (dx, dy) and the heading."""
    bearing = math.degrees(math.atan2(dx, dy)) % 360
    return abs((bearing - heading + 180) % 360 - 180)


boxes = st.lists(
    st.tuples(
        st.floats(-120, 120),
        st.floats(-120, 120),
        st.floats(2, 40),
        st.floats(2, 40),
        st.floats(0, 90),
    ),
    max_size=12,
)


def _footprints(specs) -> list:
    out = []
    for x, y, w, h, angle in specs:
        box = shapely.affinity.rotate(shapely.box(x, y, x + w, y + h), angle, origin="centroid")
        out.append(box)
    # Touching or overlapping footprints are one building, as an importer would have them.
    merged = shapely.union_all(out) if out else shapely.Polygon()
    return list(shapely.get_parts(merged))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    boxes,
    st.floats(-60, 60),
    st.floats(-60, 60),
    st.floats(0, 359.9),
    st.one_of(st.floats(10, 180), st.just(360.0)),
    st.floats(5, 150),
)
def test_the_viewshed_lies_within_the_sector_and_never_inside_a_building(
    specs, x, y, heading, fov, range_m
):
    buildings = _footprints(specs)
    shed, (ex, ey) = viewshed(View(x, y, heading, fov, range_m), Obstacles(buildings))
    assert shed.is_valid
    tolerance = 1e-6
    for vx, vy in shapely.get_coordinates(shed):
        dx, dy = vx - ex, vy - ey
        assert math.hypot(dx, dy) <= range_m + tolerance
        if fov < 360 and math.hypot(dx, dy) > 1e-6:
            assert _bearing_offset(dx, dy, heading) <= fov / 2 + 1e-4
    own_sector = sector(ex, ey, heading, fov, range_m)
    assert shed.difference(own_sector).area < 1e-4
    for building in buildings:
        assert shed.intersection(building).area < 1e-3
    assert not any(b.contains(Point(ex, ey)) for b in buildings), "the eye is never inside"


@settings(max_examples=60, deadline=None)
@given(boxes, st.floats(0, 359.9), st.floats(10, 150))
def test_nothing_is_hidden_without_buildings_in_range(specs, heading, range_m):
    far_away = [shapely.affinity.translate(b, 10_000, 0) for b in _footprints(specs)]
    shed, _ = viewshed(View(0, 0, heading, 90, range_m), Obstacles(far_away))
    assert shed.area == pytest.approx(sector(0, 0, heading, 90, range_m).area, rel=1e-9)


# --- Stored viewsheds ---------------------------------------------------------------------------


def make_camera(code: str, x: float, y: float, **fields) -> Camera:
    """A camera at local metres (x, y) of tests/factories.py's drawing."""
    fields = {"heading_deg": 90.0, "fov_deg": 60.0, "range_m": 100.0, **fields}
    return Camera.objects.create(code=code, geom=point(x, y), **fields)


def make_building(code: str, x0: float, y0: float, x1: float, y1: float) -> Building:
    return Building.objects.create(code=code, geom=rect(x0, y0, x1, y1))


def stale_codes() -> set[str]:
    return set(
        Camera.objects.filter(viewshed_computed_at__isnull=True).values_list("code", flat=True)
    )


@pytest.mark.django_db
def test_compute_viewsheds_stores_a_multipolygon_that_excludes_what_buildings_hide(capsys):
    make_building("B1", 140, 90, 160, 110)
    make_camera("C1", 100, 100)
    make_camera("C2", 300, 100, ptz=True, range_m=50)
    call_command("compute_viewsheds")
    assert "2 viewshed(s) computed against 1 building(s)" in capsys.readouterr().out
    c1 = Camera.objects.get(code="C1")
    assert c1.viewshed_geom.geom_type == "MultiPolygon"
    assert c1.viewshed_computed_at is not None
    assert c1.viewshed_geom.contains(point(130, 100))
    assert not c1.viewshed_geom.contains(point(170, 100))
    c2 = Camera.objects.get(code="C2")
    assert c2.viewshed_geom.area == pytest.approx(math.pi * 50**2, rel=0.01)


@pytest.mark.django_db
def test_compute_viewsheds_by_code_and_unknown_codes():
    make_camera("C1", 100, 100)
    make_camera("C2", 300, 100)
    call_command("compute_viewsheds", "--code", "C2")
    assert stale_codes() == {"C1"}
    with pytest.raises(CommandError, match=r"no camera with code.*NOPE"):
        call_command("compute_viewsheds", "--code", "C1,NOPE")
    assert stale_codes() == {"C1"}, "nothing written when a code is unknown"


@pytest.mark.django_db
def test_a_boxed_in_camera_stores_only_its_gap():
    # Four blocks around the camera leave it a 2 m x 2 m gap: it looks at a wall 1 m away.
    make_building("N", 90, 101, 110, 110)
    make_building("S", 90, 90, 110, 99)
    make_building("E", 101, 99, 110, 101)
    make_building("W", 90, 99, 99, 101)
    camera = make_camera("C1", 100, 100)
    call_command("compute_viewsheds")
    camera.refresh_from_db()
    assert camera.viewshed_geom is not None and camera.viewshed_geom.area < 2.1


@pytest.mark.django_db
def test_edits_mark_only_the_cameras_they_concern_stale():
    make_camera("NEAR", 100, 100)  # range 100 m: reaches x 200
    make_camera("FAR", 380, 280, range_m=30)
    building = make_building("B1", 150, 90, 160, 110)
    call_command("compute_viewsheds")
    assert stale_codes() == set()

    building.geom = rect(150, 120, 160, 130)  # moved, still within NEAR's reach
    building.save()
    assert stale_codes() == {"NEAR"}
    call_command("compute_viewsheds", "--stale")

    Camera.objects.filter(code="FAR").update(viewshed_computed_at=None)
    far = Camera.objects.get(code="FAR")
    far.status = Camera.Status.ONLINE
    far.save(update_fields=["status"])  # a heartbeat: the viewshed does not change
    assert stale_codes() == {"FAR"}
    call_command("compute_viewsheds", "--stale")

    far.heading_deg = 180
    far.save()
    assert stale_codes() == {"FAR"}
    call_command("compute_viewsheds", "--stale")

    building.delete()
    assert stale_codes() == {"NEAR"}


@pytest.mark.django_db
def test_the_stale_run_computes_only_stale_cameras():
    make_camera("C1", 100, 100)
    make_camera("C2", 300, 100)
    assert viewsheds_compute_stale().cameras == 2
    assert viewsheds_compute_stale().cameras == 0


@pytest.mark.django_db
def test_the_catch_up_finds_what_bulk_writes_changed():
    make_camera("NEAR", 100, 100)
    make_camera("FAR", 380, 280, range_m=30)
    assert viewsheds_compute_stale().cameras == 2  # records the digests too
    # An importer's upsert: no signals.
    Building.objects.bulk_create([Building(code="B1", geom=rect(150, 90, 160, 110))])
    Camera.objects.filter(code="FAR").update(heading_deg=200)
    assert viewsheds_catch_up() == 2
    assert stale_codes() == {"NEAR", "FAR"}
    viewsheds_compute_stale()
    assert Camera.objects.get(code="NEAR").viewshed_geom.contains(point(170, 100)) is False
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM gridmap_building")
    assert viewsheds_catch_up() == 1
    assert stale_codes() == {"NEAR"}


# --- Recomputed by a real Celery worker ----------------------------------------------------------


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_worker_recomputes_viewsheds_after_camera_and_building_edits(celery_factory):  # noqa: F811
    # The worker listens on the test run's own Redis database, where this process publishes.
    celery = celery_factory(REDIS_URL=TEST_REDIS_URL)
    with transaction.atomic():
        camera = make_camera("C1", 100, 100)
        far = make_camera("FAR", 380, 280, range_m=30)
    wait_for(lambda: not stale_codes(), timeout=60, what=f"viewsheds\n{celery.output()[-3000:]}")
    camera.refresh_from_db()
    far.refresh_from_db()
    assert camera.viewshed_geom.contains(point(170, 100))
    far_at = far.viewshed_computed_at
    # The worker also computed the coverage of the new viewsheds for the map's next request.
    wait_for(lambda: cache.get(CACHE_PREFIX + coverage_version()), timeout=30, what="coverage")

    with transaction.atomic():
        make_building("B1", 140, 90, 160, 110)
    wait_for(
        lambda: not Camera.objects.get(code="C1").viewshed_geom.contains(point(170, 100)),
        timeout=60,
        what=f"the building's shadow\n{celery.output()[-3000:]}",
    )
    far.refresh_from_db()
    assert far.viewshed_computed_at == far_at, "a camera out of reach is not recomputed"


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_beat_catches_up_with_cameras_written_in_bulk(celery_factory):  # noqa: F811
    # An importer's bulk_create sends no signal: the periodic sweep finds the stale camera.
    celery = celery_factory(REDIS_URL=TEST_REDIS_URL, GRIDMAP_VIEWSHED_SWEEP_S="1")
    Camera.objects.bulk_create([Camera(code="BULK", geom=point(100, 100), range_m=60)])
    wait_for(lambda: not stale_codes(), timeout=60, what=f"the sweep\n{celery.output()[-3000:]}")
    assert Camera.objects.get(code="BULK").viewshed_geom.contains(point(100, 150))  # north
