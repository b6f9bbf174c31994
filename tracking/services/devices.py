"""Devices (phones, vehicles' 4G units) and their tokens.

Each device posts with a DRF token of its own account: a user of role ``device`` made for it
(``device-<unit_id>``, no password, so it cannot log in to the pages). A token is shown once,
when it is issued; issuing again replaces it (the old one stops working within the token
cache's 30 s, see gridmap/authentication.py).
"""

from django.db import transaction
from rest_framework.authtoken.models import Token

from gridmap.models import Device, Team, User, Vehicle


def device_user_name(unit_id: str) -> str:
    return f"device-{unit_id}"[:150]


@transaction.atomic
def device_register(
    *,
    unit_id: str,
    kind: str = Device.Kind.PHONE,
    team: Team | None = None,
    vehicle: Vehicle | None = None,
) -> Device:
    """Create a device (or update the kind, team and vehicle of an existing one) with its own
    account of role ``device``. A vehicle unit without a team takes the vehicle's team."""
    device = Device.objects.filter(unit_id=unit_id).select_related("user").first()
    if team is None and vehicle is not None:
        team = vehicle.team
    if device is None:
        user = device_account(unit_id)
        return Device.objects.create(
            unit_id=unit_id, kind=kind, user=user, team=team, vehicle=vehicle
        )
    device.kind, device.team, device.vehicle = kind, team, vehicle
    device.save(update_fields=["kind", "team", "vehicle"])
    return device


def device_account(unit_id: str) -> User:
    """The account of role ``device`` for a unit (created when missing, never with a usable
    password)."""
    user, created = User.objects.get_or_create(
        username=device_user_name(unit_id), defaults={"role": User.Role.DEVICE}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def device_token_issue(*, device: Device, rotate: bool = False) -> str:
    """The device account's token: the existing one, or a new one when there is none or
    ``rotate`` is set (the old one is deleted)."""
    if rotate:
        Token.objects.filter(user=device.user).delete()
    token, _ = Token.objects.get_or_create(user=device.user)
    return token.key
