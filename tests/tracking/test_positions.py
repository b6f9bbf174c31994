"""POST /api/v1/positions: batches of GPS fixes from phones and vehicles' 4G units, each with a
token of its own; bad fixes rejected or flagged with a reason, never stored as truth.

The small district (tests/factories.py) is 400 m x 300 m; its team TM1 carries PHONE-1.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from gridmap.crs import wgs84_to_gcj02
from gridmap.models import Device, Position, Team
from tests.factories import local_xy, lonlat, point

from .conftest import fix

pytestmark = pytest.mark.django_db


def stored(unit: str) -> list[Position]:
    return list(Position.objects.filter(device__unit_id=unit).order_by("at"))


def test_a_batch_is_stored_and_moves_the_team(phone, district):
    now = timezone.now().replace(microsecond=0)
    fixes = [
        fix("PHONE-1", now - timedelta(seconds=20), 100, 100, speed_kmh=12.5, heading=90),
        fix("PHONE-1", now - timedelta(seconds=10), 130, 100, accuracy_m=8),
    ]
    response = phone.post(fixes)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 2
    assert body["fixes"] == [
        {"index": 0, "status": "accepted"},
        {"index": 1, "status": "accepted"},
    ]
    rows = stored("PHONE-1")
    assert [r.at for r in rows] == [now - timedelta(seconds=20), now - timedelta(seconds=10)]
    assert rows[0].speed_kmh == 12.5 and rows[0].heading == 90 and rows[1].accuracy_m == 8
    assert rows[0].team_id == district["team"].pk
    assert rows[1].geom.distance(point(130, 100)) < 0.01
    team = Team.objects.get(pk=district["team"].pk)
    assert team.position_at == now - timedelta(seconds=10)
    assert team.position_geom.distance(point(130, 100)) < 0.01
    assert Device.objects.get(unit_id="PHONE-1").last_fix_at == now - timedelta(seconds=10)


def test_gcj02_fixes_are_stored_in_the_true_place(phone):
    now = timezone.now()
    lon, lat = lonlat(200, 150)
    glon, glat = wgs84_to_gcj02(lon, lat)
    body = {"unit": "PHONE-1", "time": now.isoformat(), "lon": float(glon), "lat": float(glat)}
    response = phone.post([{**body, "srs": "gcj02"}])
    assert response.json()["accepted"] == 1
    (row,) = stored("PHONE-1")
    # GCJ-02 is offset by a few hundred metres here; converted back, it is within centimetres.
    assert row.geom.distance(point(200, 150)) < 0.05


def test_a_bad_or_missing_token_is_401(phone):
    now = timezone.now()
    assert phone.post([fix("PHONE-1", now, 100, 100)], token="not-a-token").status_code == 401
    from django.test import Client

    anonymous = Client().post("/api/v1/positions", {"fixes": []}, content_type="application/json")
    assert anonymous.status_code == 401
    assert stored("PHONE-1") == []


def test_a_device_cannot_post_as_another(phone, other_phone):
    now = timezone.now()
    response = phone.post([fix("PHONE-1", now, 100, 100), fix("PHONE-2", now, 120, 100)])
    assert response.status_code == 403
    assert "PHONE-2" in response.json()["unit"][0]
    # Nothing of the batch was stored, not even the caller's own fix.
    assert stored("PHONE-1") == [] and stored("PHONE-2") == []


def test_an_unknown_unit_refuses_the_batch_with_422(phone):
    now = timezone.now()
    response = phone.post([fix("PHONE-1", now, 100, 100), fix("NOPE-9", now, 120, 100)])
    assert response.status_code == 422
    assert "NOPE-9" in response.json()["unit"][0]
    assert stored("PHONE-1") == []


def test_a_deactivated_unit_is_refused(phone):
    Device.objects.filter(unit_id="PHONE-1").update(active=False)
    response = phone.post([fix("PHONE-1", timezone.now(), 100, 100)])
    assert response.status_code == 403
    assert "PHONE-1" in response.json()["unit"][0]


@pytest.mark.parametrize(
    "payload",
    [{"fixes": "nope"}, {"fixes": []}, {"nothing": 1}],
)
def test_a_malformed_batch_is_400(phone, payload):
    response = phone.client.post("/api/v1/positions", payload, content_type="application/json")
    assert response.status_code == 400
    assert "fixes" in response.json()


def test_an_oversized_batch_is_400(phone, settings):
    now = timezone.now()
    fixes = [fix("PHONE-1", now - timedelta(seconds=k), 100, 100) for k in range(1001)]
    response = phone.post(fixes)
    assert response.status_code == 400
    assert "1000" in response.json()["fixes"][0]


def test_bad_fixes_are_rejected_with_a_reason_and_not_stored(phone):
    now = timezone.now()
    good = fix("PHONE-1", now - timedelta(seconds=60), 100, 100)
    fixes = [
        good,
        fix("PHONE-1", now + timedelta(minutes=10), 100, 100),  # far future
        {**fix("PHONE-1", now - timedelta(seconds=50), 0, 0), "lon": 200.0},  # off the world
        {**fix("PHONE-1", now - timedelta(seconds=40), 0, 0), "lat": "north"},  # malformed
        {**fix("PHONE-1", now - timedelta(seconds=30), 0, 0), "srs": "EPSG:99999"},
        {**fix("PHONE-1", now - timedelta(seconds=20), 0, 0), "time": "yesterday"},
        fix("PHONE-1", now - timedelta(days=400), 100, 100),  # GPS week roll-over
        {**fix("PHONE-1", now - timedelta(seconds=10), 0, 0), "lon": 10.0, "lat": 50.0},
    ]
    body = phone.post(fixes).json()
    outcomes = body["fixes"]
    assert outcomes[0] == {"index": 0, "status": "accepted"}
    reasons = [(o["status"], o.get("reason")) for o in outcomes[1:]]
    assert reasons == [
        ("rejected", "future"),
        ("rejected", "outside_world"),
        ("rejected", "malformed"),
        ("rejected", "unknown_srs"),
        ("rejected", "malformed"),
        ("rejected", "too_old"),
        ("rejected", "outside_crs"),
    ]
    assert all(o["message"] for o in outcomes[1:])
    assert body["accepted"] == 1 and body["rejected"] == 7
    assert len(stored("PHONE-1")) == 1


def test_doubtful_fixes_are_flagged_stored_and_not_trusted(phone, district):
    now = timezone.now().replace(microsecond=0)
    t0 = now - timedelta(seconds=100)
    fixes = [
        fix("PHONE-1", t0, 100, 100),
        # 340 m in 2 s from the previous good fix: 610 km/h.
        fix("PHONE-1", t0 + timedelta(seconds=2), 390, 280),
        # 5 km east of the district (margin 1 km): outside.
        fix("PHONE-1", t0 + timedelta(seconds=10), 5100, 100),
        fix("PHONE-1", t0 + timedelta(seconds=20), 110, 100, accuracy_m=900),
        # the last good one: 20 m from the first in 30 s.
        fix("PHONE-1", t0 + timedelta(seconds=30), 120, 100),
    ]
    body = phone.post(fixes).json()
    flags = [(o["status"], o.get("reason")) for o in body["fixes"]]
    assert flags == [
        ("accepted", None),
        ("flagged", "impossible_speed"),
        ("flagged", "outside_district"),
        ("flagged", "inaccurate"),
        ("accepted", None),
    ]
    assert "km/h" in body["fixes"][1]["message"]
    assert [r.flag for r in stored("PHONE-1")] == [
        "",
        "impossible_speed",
        "outside_district",
        "inaccurate",
        "",
    ]
    team = Team.objects.get(pk=district["team"].pk)
    assert team.position_at == t0 + timedelta(seconds=30)
    assert local_xy(*team_lonlat(team)) == pytest.approx((120, 100), abs=0.01)


def team_lonlat(team) -> tuple[float, float]:
    geom = team.position_geom.transform(4326, clone=True)
    return geom.x, geom.y


def test_a_newest_but_flagged_fix_does_not_become_the_team_position(phone, district):
    now = timezone.now().replace(microsecond=0)
    phone.post([fix("PHONE-1", now - timedelta(seconds=30), 100, 100)])
    phone.post([fix("PHONE-1", now - timedelta(seconds=5), 9000, 100)])  # far outside
    team = Team.objects.get(pk=district["team"].pk)
    assert team.position_at == now - timedelta(seconds=30)


def test_swapped_coordinates_are_named(phone):
    lon, lat = lonlat(100, 100)
    body = phone.post(
        [{"unit": "PHONE-1", "time": timezone.now().isoformat(), "lon": lat, "lat": lon}]
    ).json()
    # (34.6, 113.7) as lon/lat is not on the earth's surface: rejected, never flagged.
    assert body["fixes"][0]["status"] == "rejected"
    assert body["fixes"][0]["reason"] == "outside_world"


def test_duplicates_in_a_batch_and_across_batches(phone):
    now = timezone.now().replace(microsecond=0)
    a = fix("PHONE-1", now - timedelta(seconds=20), 100, 100)
    b = fix("PHONE-1", now - timedelta(seconds=10), 105, 100)
    first = phone.post([a, b, a]).json()
    assert [o["status"] for o in first["fixes"]] == ["accepted", "accepted", "duplicate"]
    again = phone.post([b, fix("PHONE-1", now, 110, 100)]).json()
    assert [o["status"] for o in again["fixes"]] == ["duplicate", "accepted"]
    assert again["duplicates"] == 1
    assert len(stored("PHONE-1")) == 3


def test_a_late_backlog_is_stored_in_order_of_time(phone):
    now = timezone.now().replace(microsecond=0)
    phone.post([fix("PHONE-1", now - timedelta(seconds=5), 100, 100)])
    # Sent late (the phone was offline): stored, the team keeps its newer position.
    body = phone.post([fix("PHONE-1", now - timedelta(minutes=5), 90, 100)]).json()
    assert body["accepted"] == 1
    assert [r.at for r in stored("PHONE-1")] == [
        now - timedelta(minutes=5),
        now - timedelta(seconds=5),
    ]


def test_fixes_land_in_their_monthly_partition(phone):
    now = timezone.now()
    phone.post([fix("PHONE-1", now, 100, 100)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM gridmap_position")
        (partition,) = cursor.fetchone()
    local = timezone.localtime(now)
    assert partition == f"gridmap_position_y{local.year:04d}m{local.month:02d}"


@pytest.mark.django_db(transaction=True)
def test_batches_commit_with_their_insert_outside_any_transaction(phone, other_phone, district):
    """Outside a caller's transaction the COMMIT travels with the insert (one round trip):
    the rows are there for everyone, a refused batch leaves nothing, and the connection goes
    on serving batches."""
    now = timezone.now().replace(microsecond=0)
    first = phone.post([fix("PHONE-1", now - timedelta(seconds=20), 100, 100)]).json()
    assert first["accepted"] == 1
    refused = phone.post(
        [fix("PHONE-1", now - timedelta(seconds=15), 100, 100), fix("PHONE-2", now, 100, 100)]
    )
    assert refused.status_code == 403
    again = phone.post(
        [
            fix("PHONE-1", now - timedelta(seconds=20), 100, 100),
            fix("PHONE-1", now - timedelta(seconds=10), 110, 100),
        ]
    ).json()
    assert [o["status"] for o in again["fixes"]] == ["duplicate", "accepted"]
    assert connection.in_atomic_block is False
    assert [r.at for r in stored("PHONE-1")] == [
        now - timedelta(seconds=20),
        now - timedelta(seconds=10),
    ]
    assert Team.objects.get(pk=district["team"].pk).position_at == now - timedelta(seconds=10)
