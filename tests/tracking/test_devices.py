"""Devices and their tokens (the device_token command, the admin action) and the position
table's monthly partitions (the command and the move out of the default partition)."""

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from gridmap.authentication import CachedTokenAuthentication
from gridmap.models import Device, Position, User
from tests.factories import UserFactory, point
from tracking.services.partitions import ensure_position_partitions, position_partitions

from .conftest import fix

pytestmark = pytest.mark.django_db


def post(token: str, fixes):
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    return client.post("/api/v1/positions", {"fixes": fixes}, content_type="application/json")


def token_of(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_the_command_registers_a_unit_and_prints_its_token_once(district, capsys):
    call_command("device_token", "PHONE-7", "--team", "TM1")
    token = token_of(capsys.readouterr().out)
    device = Device.objects.get(unit_id="PHONE-7")
    assert device.team.code == "TM1" and device.user.role == User.Role.DEVICE
    assert not device.user.has_usable_password()
    assert post(token, [fix("PHONE-7", timezone.now(), 100, 100)]).json()["accepted"] == 1
    with pytest.raises(CommandError, match="--rotate"):
        call_command("device_token", "PHONE-7")
    call_command("device_token", "PHONE-7", "--rotate")
    new = token_of(capsys.readouterr().out)
    assert new != token
    CachedTokenAuthentication._cache.clear()  # a web process forgets it within 30 s
    assert post(token, [fix("PHONE-7", timezone.now(), 100, 100)]).status_code == 401
    assert Device.objects.get(unit_id="PHONE-7").team.code == "TM1"  # kept


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["PHONE-8", "--team", "NOPE"], "No team"),
        (["PHONE-8", "--vehicle", "NOPE"], "No vehicle"),
        (["x" * 61], "1 to 60"),
    ],
)
def test_the_command_refuses_bad_input(district, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("device_token", *args)
    assert not Device.objects.exists()


def test_the_admin_action_issues_a_new_token(phone, client):
    client.force_login(UserFactory(role=User.Role.ADMIN, is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/gridmap/device/",
        {"action": "issue_token", "_selected_action": [phone.device.pk]},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    new = phone.device.user.auth_token.__class__.objects.get(user=phone.device.user).key
    assert new != phone.token and f"<code>{new}</code>" in text


def test_admin_lists_of_events_and_attendance_are_read_only(district, client):
    client.force_login(UserFactory(role=User.Role.ADMIN, is_staff=True, is_superuser=True))
    assert client.get("/admin/gridmap/geofenceevent/").status_code == 200
    assert client.get("/admin/gridmap/attendance/").status_code == 200
    assert client.get("/admin/gridmap/attendance/add/").status_code == 403
    assert client.get("/admin/gridmap/geofence/add/").status_code == 200


def _partition_of(device_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM gridmap_position WHERE device_id = %s",
            [device_id],
        )
        return cursor.fetchone()[0]


def test_rows_of_a_month_without_partition_move_into_it_when_created(phone):
    old = datetime(2021, 3, 15, 12, tzinfo=UTC)
    Position.objects.create(
        device=phone.device, at=old, geom=point(100, 100), received_at=timezone.now()
    )
    assert _partition_of(phone.device.pk) == "gridmap_position_default"
    result = ensure_position_partitions(start=old.date(), months=1)
    assert result.created == ["gridmap_position_y2021m03"] and result.moved_rows == 1
    assert _partition_of(phone.device.pk) == "gridmap_position_y2021m03"
    assert "gridmap_position_y2021m03" in position_partitions()
    # Again: nothing to do.
    assert ensure_position_partitions(start=old.date(), months=1).created == []


def test_the_partitions_command(db, capsys):
    call_command("ensure_position_partitions", "--months", "6")
    out = capsys.readouterr().out
    assert "partition(s) created" in out
    local = timezone.localtime()
    assert f"gridmap_position_y{local.year:04d}m{local.month:02d}" in position_partitions()
    with pytest.raises(CommandError):
        call_command("ensure_position_partitions", "--months", "0")


def test_a_device_with_positions_cannot_be_deleted(phone):
    from django.db.models import ProtectedError

    phone.post([fix("PHONE-1", timezone.now(), 100, 100)])
    with pytest.raises(ProtectedError):
        Device.objects.get(unit_id="PHONE-1").delete()
