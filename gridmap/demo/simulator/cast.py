"""The cast of the live demo: the demo accounts' API tokens and a 4G unit for every team.

This is set-up, done once through the ORM before any traffic, as an administrator would hand
out tokens (``manage.py drf_create_token``, ``manage.py device_token``): after it, the
simulator talks to the platform only over HTTP with these tokens. Tokens that exist are reused;
the teams' units are registered as ``demo-4g-<team code>`` (vehicle 4G units).
"""

from dataclasses import dataclass, field

from rest_framework.authtoken.models import Token

from cameras.models import Camera
from gridmap.demo import plan
from gridmap.models import Device, District, Team, User
from tracking.services.devices import device_register, device_token_issue

#: The demo's centre accounts the simulator acts as (gridmap/demo/people.py).
CENTRE = ("operator", "dispatcher", "shift_leader", "camera_unit")


class CastError(Exception):
    """The demo district or its accounts are missing: nothing to simulate."""


@dataclass
class TeamCast:
    code: str
    name: str
    status: str
    member: str  # username of the field member who works the phone
    member_token: str
    unit: str  # the vehicle's 4G unit id
    unit_token: str


@dataclass
class Cast:
    tokens: dict[str, str]  # centre username -> token
    inspectors: dict[str, str]  # username -> token
    teams: dict[str, TeamCast] = field(default_factory=dict)
    cameras: list[str] = field(default_factory=list)  # codes bound to the camera unit

    def token(self, username: str) -> str | None:
        return self.tokens.get(username) or self.inspectors.get(username)


def demo_loaded() -> bool:
    """Whether the demo district is in the database (``manage.py load_demo``)."""
    return District.objects.filter(code=plan.DISTRICT[0]).exists()


def _token(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def cast_prepare() -> Cast:
    """Tokens of the demo's operator, dispatcher, shift leader, camera unit, inspectors and one
    field member per team, and each team's 4G unit; ``CastError`` when the demo is not there."""
    if not demo_loaded():
        raise CastError(
            "The demo district is not loaded: run `manage.py load_demo` (or `make run`) first."
        )
    users = {u.username: u for u in User.objects.filter(username__in=CENTRE, is_active=True)}
    missing = sorted(set(CENTRE) - set(users))
    if missing:
        raise CastError(f"Demo accounts missing: {', '.join(missing)} (run `manage.py load_demo`).")
    cast = Cast(
        tokens={name: _token(user) for name, user in users.items()},
        inspectors={
            u.username: _token(u)
            for u in User.objects.filter(role=User.Role.INSPECTOR, is_active=True)
        },
    )
    for team in Team.objects.order_by("code"):
        member = (
            User.objects.filter(team=team, is_active=True, role=User.Role.FIELD_MEMBER)
            .order_by("username")
            .first()
        )
        if member is None:
            continue
        device = device_register(
            unit_id=f"demo-4g-{team.code}", kind=Device.Kind.VEHICLE_UNIT, team=team
        )
        cast.teams[team.code] = TeamCast(
            code=team.code,
            name=team.name,
            status=team.status,
            member=member.username,
            member_token=_token(member),
            unit=device.unit_id,
            unit_token=device_token_issue(device=device),
        )
    cast.cameras = list(
        Camera.objects.filter(device_user=users["camera_unit"])
        .order_by("code")
        .values_list("code", flat=True)
    )
    if not cast.teams:
        raise CastError("The demo has no team with a field member: nothing can be dispatched.")
    return cast
