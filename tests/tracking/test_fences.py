"""Vehicle geofences (电子围栏): a muck truck (渣土车) off its approved route or inside a
restricted zone at restricted hours raises one event (not one per fix), closed when it is back,
and per fence a case of source ``device``.

Drawn in the small district (tests/factories.py, 400 m x 300 m):

    300 +------------------------------------------+
        |                                          |
    160 |==========  route R: y 140..160  =========|   (the truck's approved corridor)
    140 |==========================================|
    100 |                              +-----------+
        |                              | school S  |   restricted 07:00-08:30
      0 +------------------------------+-----------+
        0                             300         400
"""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from gridmap.models import Geofence, GeofenceEvent, Vehicle
from tests.factories import CategoryFactory, rect
from tracking.shifts import local_zone

from .conftest import fix

pytestmark = pytest.mark.django_db(transaction=True)


def last_local(at: time) -> datetime:
    """The latest past instant whose local time is ``at`` (today's, else yesterday's)."""
    now = timezone.now().astimezone(local_zone())
    moment = datetime.combine(now.date(), at, tzinfo=local_zone())
    return moment if moment < now - timedelta(minutes=30) else moment - timedelta(days=1)


@pytest.fixture
def route(district):
    return Geofence.objects.create(
        code="R",
        name="渣土运输路线",
        kind="route",
        vehicle_kind="muck_truck",
        geom=rect(0, 140, 400, 160),
    )


@pytest.fixture
def school(district):
    return Geofence.objects.create(
        code="S",
        name="第一小学",
        kind="restricted",
        geom=rect(300, 0, 400, 100),
        active_from=time(7, 0),
        active_to=time(8, 30),
    )


def events():
    return list(GeofenceEvent.objects.order_by("at"))


def drive(truck, start: datetime, *points: tuple[float, float], step_s: int = 30):
    """Post one fix per point, ``step_s`` apart from ``start``, in one batch."""
    fixes = [
        fix("TRUCK-1", start + timedelta(seconds=k * step_s), x, y)
        for k, (x, y) in enumerate(points)
    ]
    response = truck.post(fixes)
    assert response.status_code == 200, response.content
    return response.json()


def test_leaving_the_route_raises_one_event_that_closes_when_back(truck, route):
    t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=20)
    drive(truck, t0, (50, 150), (80, 150))
    assert events() == []
    # Off the corridor (100 m north of it) for three fixes, in two batches: one event.
    drive(truck, t0 + timedelta(seconds=60), (100, 250), (130, 260))
    drive(truck, t0 + timedelta(seconds=120), (160, 260))
    (event,) = events()
    assert event.kind == "off_route" and event.geofence == route and event.ended_at is None
    assert event.at == t0 + timedelta(seconds=60)
    assert event.vehicle.code == "V1"
    # Back on the route: closed at that fix.
    drive(truck, t0 + timedelta(seconds=180), (190, 150), (220, 150))
    (event,) = events()
    assert event.ended_at == t0 + timedelta(seconds=180)
    # Off again later: a second event.
    drive(truck, t0 + timedelta(seconds=300), (250, 290))
    assert [e.ended_at is None for e in events()] == [False, True]


def test_a_whole_violation_inside_one_batch_is_one_closed_event(truck, route):
    t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=20)
    drive(truck, t0, (50, 150), (60, 250), (70, 260), (80, 150), (90, 150))
    (event,) = events()
    assert event.at == t0 + timedelta(seconds=30)
    assert event.ended_at == t0 + timedelta(seconds=90)


def test_the_buffer_width_is_configurable(truck, route, settings):
    t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=20)
    # 20 m north of the corridor: within the default 30 m buffer.
    drive(truck, t0, (50, 180))
    assert events() == []
    Geofence.objects.filter(pk=route.pk).update(buffer_m=5)
    Geofence.objects.get(pk=route.pk).save()  # clears the cached rules as the admin does
    drive(truck, t0 + timedelta(seconds=30), (60, 180))
    (event,) = events()
    assert event.kind == "off_route"


def test_a_restricted_zone_at_its_hours_only(truck, school):
    inside = [(350, 50), (360, 50), (370, 50)]
    school_run = last_local(time(7, 30))
    drive(truck, school_run - timedelta(minutes=90), *inside)  # 06:00: before the hours
    assert events() == []
    drive(truck, school_run, *inside, (250, 150))
    (event,) = events()
    assert event.kind == "restricted" and event.geofence == school
    assert event.at == school_run
    assert event.ended_at == school_run + timedelta(seconds=90)


def test_the_zone_closing_hour_ends_the_violation(truck, school):
    start = last_local(time(8, 28))
    # Still parked inside the zone when the restricted hours end at 08:30.
    drive(truck, start, (350, 50), (350, 50.5), (350, 51), (350, 51.5), (350, 52), step_s=60)
    (event,) = events()
    assert event.ended_at == start + timedelta(seconds=120)


def test_a_fence_with_a_category_files_one_device_case(truck, route):
    category = CategoryFactory(code="E9907", minor_name="渣土车违规")
    Geofence.objects.filter(pk=route.pk).update(case_category=category.code)
    Geofence.objects.get(pk=route.pk).save()
    t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=20)
    drive(truck, t0, (50, 150), (60, 250), (70, 260), (80, 270))
    (event,) = events()
    case = Case.objects.get()
    assert event.case_id == case.pk
    assert case.source == "device" and case.category.code == "E9907"
    assert "豫A12345" in case.description
    assert case.reporter.username == "device-TRUCK-1"


def test_fences_of_other_vehicle_kinds_do_not_apply(district, route):
    from tracking.services.devices import device_register

    from .conftest import DeviceClient

    car = Vehicle.objects.create(code="P1", kind=Vehicle.Kind.PATROL_CAR, team=district["team"])
    unit = DeviceClient(device_register(unit_id="CAR-1", kind="vehicle_unit", vehicle=car))
    t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=20)
    response = unit.post(
        [fix("CAR-1", t0, 60, 250), fix("CAR-1", t0 + timedelta(seconds=30), 70, 250)]
    )
    assert response.json()["accepted"] == 2
    assert events() == []


def test_flagged_fixes_do_not_raise_events(truck, route):
    t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=20)
    drive(truck, t0, (50, 150))
    # Off the route but impossibly far in 1 s: flagged, not judged.
    body = drive(truck, t0 + timedelta(seconds=1), (390, 290), step_s=1)
    assert body["fixes"][0]["reason"] == "impossible_speed"
    assert events() == []
