"""``manage.py device_token UNIT``: register a phone or a vehicle's 4G unit and print its token."""

from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from gridmap.models import Device, Team, Vehicle
from tracking.services.devices import device_register, device_token_issue


class Command(BaseCommand):
    help = (
        "Register a device (phone or vehicle 4G unit) under its unit id, with an account of "
        "its own (role device), and print its API token. The token is printed once: a device "
        "that has one already needs --rotate, which issues a new one (the old one stops "
        "working within 30 s)."
    )

    def add_arguments(self, parser):
        parser.add_argument("unit", help="the unit id the device sends with its fixes")
        parser.add_argument("--kind", choices=Device.Kind.values, help="default: phone")
        parser.add_argument("--team", help="code of the team carrying it")
        parser.add_argument("--vehicle", help="code of the vehicle it is mounted in")
        parser.add_argument("--rotate", action="store_true", help="replace an existing token")

    def handle(self, *args, unit, kind, team, vehicle, rotate, **options):
        unit = unit.strip()
        if not unit or len(unit) > 60:
            raise CommandError("The unit id must be 1 to 60 characters.")
        team_row = vehicle_row = None
        if team:
            team_row = Team.objects.filter(code=team).first()
            if team_row is None:
                raise CommandError(f"No team with code {team!r}.")
        if vehicle:
            vehicle_row = Vehicle.objects.filter(code=vehicle).first()
            if vehicle_row is None:
                raise CommandError(f"No vehicle with code {vehicle!r}.")
        existing = Device.objects.filter(unit_id=unit).first()
        if (
            existing is not None
            and Token.objects.filter(user=existing.user).exists()
            and not rotate
        ):
            raise CommandError(
                f"Device {unit} has a token already (it was printed when issued). Use --rotate "
                "to issue a new one; the old one then stops working."
            )
        if kind is None:
            kind = existing.kind if existing else Device.Kind.PHONE
        device = device_register(
            unit_id=unit,
            kind=kind,
            team=team_row if team_row or existing is None else existing.team,
            vehicle=vehicle_row if vehicle_row or existing is None else existing.vehicle,
        )
        token = device_token_issue(device=device, rotate=rotate)
        verb = "Registered" if existing is None else "Updated"
        self.stdout.write(
            f"{verb} {device.get_kind_display()} {device.unit_id} "
            f"(team: {device.team or '-'}, vehicle: {device.vehicle or '-'}).\n"
            f"Token (shown once; the unit sends it as 'Authorization: Token …'):\n{token}"
        )
