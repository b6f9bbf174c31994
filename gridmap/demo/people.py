"""Departments, teams and demo users of the demo district.

Every role of ``User.Role`` has at least one account; scoped roles have one per scope: a
community lead (社区负责人, who also holds the community's subcontract zone 分包) per community, a
team leader and one or two field members per team, an inspector (监督员) per patrol zone, a
head per department. Centre staff, the office head, planners, evaluators and the administrator
see the whole district.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from shapely.ops import unary_union

from . import plan

DEPARTMENTS = [
    ("D01", "市政办", "shizheng"),
    ("D02", "人居办", "renju"),
    ("D03", "综治办", "zongzhi"),
    ("D04", "安全办", "anquan"),
    ("D05", "食药监", "shiyaojian"),
]

#: (kind, name stem, department, jurisdictions: community codes (last 3 digits) per team).
#: For each kind the teams' jurisdictions partition the subdistrict.
TEAM_KINDS = [
    (
        "persuasion",
        "市容劝导队",
        "D02",
        [["001", "002"], ["003", "004"], ["005", "006"], ["007", "008"]],
    ),
    (
        "cleaning",
        "门前五包保洁队",
        "D02",
        [["001", "005"], ["002", "006"], ["003", "007"], ["004", "008"]],
    ),
    (
        "fire_patrol",
        "巡消防中队",
        "D04",
        [["001", "002", "003", "004"], ["005", "006", "007", "008"]],
    ),
    (
        "food_safety",
        "食药监管队",
        "D05",
        [["001", "002", "005", "006"], ["003", "004", "007", "008"]],
    ),
    (
        "enforcement",
        "执法中队",
        "D03",
        [["001", "002", "005"], ["003", "006", "007"], ["004", "008"]],
    ),
    (
        "maintenance",
        "市政养护队",
        "D01",
        [["001", "005"], ["002", "003", "006", "007"], ["004", "008"]],
    ),
]

#: Accounts for the roles that see the whole district: (username, role, title).
CENTRE_ACCOUNTS = [
    ("commander", "commander", "指挥长"),
    ("dispatcher", "dispatcher", "派遣员"),
    ("operator", "operator", "受理员"),
    ("shift_leader", "shift_leader", "值班长"),
    ("office_head", "office_head", "办事处主任"),
    ("planner", "planner", "规划"),
    ("evaluator", "evaluator", "考核"),
    ("admin", "admin", "系统管理员"),
    # A camera / 4G unit posting detections with its API token (role "device").
    ("camera_unit", "device", "视频监控设备"),
]

NUMERALS = "一二三四五六七八九十"


def team_name(stem: str, n: int) -> str:
    """市容劝导队, 2 → 市容劝导二队; 执法中队, 1 → 执法一中队."""
    cut = len(stem) - (2 if stem.endswith("中队") else 1)
    return f"{stem[:cut]}{NUMERALS[n - 1]}{stem[cut:]}"


@dataclass
class TeamPlan:
    code: str
    number: int  # 1, 2… among the teams of its kind
    name: str
    kind: str
    department: str
    communities: list[str]
    status: str = "available"
    members: list[str] = field(default_factory=list)


class People:
    """Names and phone numbers handed out without repeats, from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.used: set[str] = set()
        self.phones = 0

    def name(self) -> str:
        while True:
            surname = plan.SURNAMES[int(self.rng.integers(len(plan.SURNAMES)))]
            given = plan.GIVEN_NAMES[int(self.rng.integers(len(plan.GIVEN_NAMES)))]
            if surname + given not in self.used:
                self.used.add(surname + given)
                return surname + given

    def phone(self) -> str:
        self.phones += 1
        return f"1390000{self.phones:04d}"


def teams() -> list[TeamPlan]:
    result = []
    n = 0
    for kind, stem, department, groups in TEAM_KINDS:
        for i, group in enumerate(groups, start=1):
            n += 1
            result.append(
                TeamPlan(
                    code=f"T{n:02d}",
                    number=i,
                    name=team_name(stem, i),
                    kind=kind,
                    department=department,
                    communities=[plan.SUBDISTRICT[0] + c for c in group],
                )
            )
    # Mostly available; a few are busy or off duty, as on any shift.
    result[2].status = "responding"
    result[9].status = "on_scene"
    result[15].status = "off_duty"
    return result


def user(username: str, role: str, first_name: str, phone: str, **scope) -> dict:
    return {
        "username": username,
        "role": role,
        "first_name": first_name,
        "phone": phone,
        "department": scope.get("department"),
        "team": scope.get("team"),
        "subdistrict": scope.get("subdistrict"),
        "community": scope.get("community"),
    }


def organisation() -> tuple[dict, dict[str, dict], list[dict], list[TeamPlan]]:
    """Departments and users (teams are added by ``team_positions``); also the community
    leads by community code, the inspectors and the team plans, which zones refer to."""
    names = People(plan.SEED + 3)
    users = []
    for username, role, _title in CENTRE_ACCOUNTS:
        users.append(user(username, role, names.name(), names.phone()))
    departments = [{"code": c, "name": n} for c, n, _ in DEPARTMENTS]
    for code, _name, slug in DEPARTMENTS:
        users.append(
            user(f"head_{slug}", "department_head", names.name(), names.phone(), department=code)
        )
    leads = {}
    for code, _name, slug, *_ in plan.COMMUNITIES:
        full = plan.SUBDISTRICT[0] + code
        u = user(
            f"lead_{slug}",
            "community_lead",
            names.name(),
            names.phone(),
            subdistrict=plan.SUBDISTRICT[0],
            community=full,
        )
        users.append(u)
        leads[full] = u
    team_plans = teams()
    per_kind: dict[str, int] = defaultdict(int)
    for t in team_plans:
        users.append(
            user(
                f"leader_{t.kind}_{t.number}",
                "team_leader",
                names.name(),
                names.phone(),
                department=t.department,
                team=t.code,
            )
        )
        for _ in range(1 + int(names.rng.random() < 0.6)):
            per_kind[t.kind] += 1
            users.append(
                user(
                    f"field_{t.kind}_{per_kind[t.kind]}",
                    "field_member",
                    names.name(),
                    names.phone(),
                    department=t.department,
                    team=t.code,
                )
            )
    inspectors = []
    for n in range(1, 2 * len(plan.COMMUNITIES) + 1):
        u = user(
            f"inspector_{n:02d}",
            "inspector",
            names.name(),
            names.phone(),
            subdistrict=plan.SUBDISTRICT[0],
        )
        users.append(u)
        inspectors.append(u)
    users.sort(key=lambda u: u["username"])
    usernames = [u["username"] for u in users]
    assert len(set(usernames)) == len(usernames)
    org = {"departments": departments, "teams": [], "users": users}
    return org, leads, inspectors, team_plans


def team_positions(org, team_plans, communities, segments) -> None:
    """Base: the middle of the main road segment nearest the jurisdiction's centre (well inside
    it); position: a little further along the same road."""
    rng = np.random.default_rng(plan.SEED + 4)
    rank = {"primary": 0, "secondary": 0, "branch": 1}
    teams = []
    for t in team_plans:
        area = unary_union([communities[c] for c in t.communities])
        centre = area.point_on_surface()
        inner = area.buffer(-40.0)
        candidates = []
        for s in segments:
            mid = s.line.interpolate(0.5, normalized=True)
            if not s.bridge and inner.contains(mid):
                candidates.append((rank[s.road_class], mid.distance(centre), s.code, s))
        _, _, _, seg = min(candidates, key=lambda c: c[:3])
        base = seg.line.interpolate(0.5, normalized=True)
        pos = seg.line.interpolate(0.5 + _sign(rng) * float(rng.uniform(0.1, 0.3)), normalized=True)
        teams.append(
            {
                "code": t.code,
                "name": t.name,
                "kind": t.kind,
                "department": t.department,
                "status": t.status,
                "jurisdictions": [f"JZ{t.code}"],
                "base": base,
                "position": pos,
            }
        )
    org["teams"] = teams


def _sign(rng) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0
