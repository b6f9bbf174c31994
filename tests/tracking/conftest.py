"""Fixtures of the tracking tests: the small hand-drawn district (tests/factories.py, 400 m x
300 m, team TM1), devices with their own tokens, and the Celery fixtures of tests/cases (the
browser's are in tests/conftest.py)."""

from datetime import datetime

import pytest
from django.test import Client

from gridmap.models import Device, Vehicle
from tests.cases.conftest import broker, celery_factory  # noqa: F401
from tests.factories import lonlat, small_district
from tracking.services.devices import device_register, device_token_issue


@pytest.fixture
def district():
    return small_district()


class DeviceClient:
    """A device posting with its own token."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.token = device_token_issue(device=device)
        self.client = Client(HTTP_AUTHORIZATION=f"Token {self.token}")

    def post(self, fixes, *, token: str | None = None):
        client = self.client if token is None else Client(HTTP_AUTHORIZATION=f"Token {token}")
        return client.post("/api/v1/positions", {"fixes": fixes}, content_type="application/json")


def fix(unit: str, at: datetime, x: float, y: float, **extra) -> dict:
    """A fix at local metres (x, y) of the drawn district, in WGS-84."""
    lon, lat = lonlat(x, y)
    return {"unit": unit, "time": at.isoformat(), "lon": lon, "lat": lat, **extra}


@pytest.fixture
def phone(district):
    return DeviceClient(device_register(unit_id="PHONE-1", team=district["team"]))


@pytest.fixture
def other_phone(district):
    return DeviceClient(device_register(unit_id="PHONE-2", team=district["team"]))


@pytest.fixture
def truck(district):
    vehicle = Vehicle.objects.create(code="V1", plate="豫A12345", kind=Vehicle.Kind.MUCK_TRUCK)
    return DeviceClient(
        device_register(unit_id="TRUCK-1", kind=Device.Kind.VEHICLE_UNIT, vehicle=vehicle)
    )
