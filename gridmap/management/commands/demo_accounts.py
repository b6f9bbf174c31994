"""``manage.py demo_accounts``: the demo accounts, their roles, scopes and password."""

import json
import unicodedata
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from gridmap.demo.loader import demo_password
from gridmap.models import User


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _role_names(role: str) -> tuple[str, str]:
    """(Chinese, English) names of a role, from its label "commander (指挥长)"."""
    with translation.override("en"):
        label = str(User.Role(role).label)
    english, _, chinese = label.partition(" (")
    return chinese.rstrip(")") or "系统管理员", english


def _scope(user: User) -> str:
    if user.community_id:
        return f"社区 community {user.community.code} {user.community.name}"
    if user.team_id:
        return f"队伍 team {user.team.code} {user.team.name}"
    if user.department_id:
        return f"部门 department {user.department.code} {user.department.name}"
    if user.subdistrict_id:
        return f"街道 subdistrict {user.subdistrict.code} {user.subdistrict.name}"
    return "全区 whole district"


class Command(BaseCommand):
    help = "Print the demo accounts: username, name, role (Chinese and English), scope, password."

    def add_arguments(self, parser):
        parser.add_argument(
            "--directory",
            type=Path,
            default=Path(settings.BASE_DIR) / "fixtures" / "geo",
            help="directory of the demo files, whose organisation.json lists the accounts",
        )
        parser.add_argument(
            "--one-per-role",
            action="store_true",
            help="show the first account of each role only (what `make run` prints)",
        )

    def handle(self, *args, directory: Path, one_per_role: bool = False, **options):
        path = directory / "organisation.json"
        try:
            usernames = [u["username"] for u in json.loads(path.read_text("utf-8"))["users"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"Cannot read the demo accounts from {path}: {exc}") from exc
        users = {
            u.username: u
            for u in User.objects.filter(username__in=usernames).select_related(
                "community", "team", "department", "subdistrict"
            )
        }
        if not users:
            raise CommandError("The demo accounts are not loaded: run `manage.py load_demo`.")
        password = demo_password()
        order = {role: i for i, role in enumerate(User.Role.values)}
        rows = []
        shown_roles: set[str] = set()
        for username in sorted(users, key=lambda n: (order[users[n].role], n)):
            u = users[username]
            if one_per_role and u.role in shown_roles:
                continue
            shown_roles.add(u.role)
            chinese, english = _role_names(u.role)
            rows.append([u.username, u.first_name, chinese, english, _scope(u), password])
        header = ["username", "姓名", "角色", "role", "scope", "password"]
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, ["-" * w for w in widths], *rows]:
            self.stdout.write("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)))
        self.stdout.write(
            f"{len(rows)} of {len(users)} demo accounts shown; password {password!r} as loaded "
            "(GRIDMAP_DEMO_PASSWORD); `admin` may also use /admin/."
        )
