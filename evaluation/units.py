"""The units a period is evaluated by (考核对象), and how a case is attributed to each.

Every kind answers two questions: which cases belong to a unit (``mapping_sql``: a subquery of
``(case_id, unit_id)`` pairs with flags saying which of the case's clocks are the unit's own
doing), and which units exist (``units_of``), so that a unit without cases is listed as such
instead of silently missing from a ranking.

- ``department`` 部门, ``team`` 执行队伍, ``community`` 社区, ``campaign`` 专项: the case's own
  column (responsible department, dispatched team, community, campaign tag).
- ``frontage`` 门前五包: the frontage zones recorded on the case at intake (a case may lie in
  several).
- ``inspector`` 监督员: the patrol inspector who reported the case, who verified it, and the one
  whose patrol zone holds it. Their filing clocks count only for their own reports, their
  verification clocks only for the verifications assigned to them; the team's clocks (arrival,
  disposal…) are not theirs.
- ``post`` 岗位 (the centre's operator 受理员, shift leader 值班长, dispatcher 派遣员): the user
  who did the step, read from the event log; a filing clock is theirs when they filed or
  rejected the case, a dispatch clock when they dispatched it, a verification clock when they
  verified (self-disposal).
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from cases.models import Campaign
from gridmap.models import Community, Department, ResponsibilityZone, Team, User

KINDS = ("department", "team", "community", "inspector", "frontage", "post", "campaign")
POST_ROLES = (User.Role.OPERATOR, User.Role.SHIFT_LEADER, User.Role.DISPATCHER)
#: Steps of the centre's posts, as event kinds.
POST_STEPS = ("file", "reject", "dispatch", "close", "verify")
#: How far before the period a post's step may lie and still belong to a case of the period
#: (a case closed in March was usually filed in March or February).
POST_LOOKBACK_DAYS = 92

LABELS = {
    "department": _("department (部门)"),
    "team": _("team (执行队伍)"),
    "community": _("community (社区)"),
    "inspector": _("patrol inspector (监督员)"),
    "frontage": _("frontage holder (门前五包)"),
    "post": _("centre post (受理员, 值班长, 派遣员)"),
    "campaign": _("campaign (专项)"),
}

_FLAGS_ALL = "TRUE AS own_filing, TRUE AS own_dispatch, TRUE AS own_verification, TRUE AS own_other"
SIMPLE_COLUMNS = {
    "department": "department_id",
    "team": "team_id",
    "community": "community_id",
    "campaign": "campaign_id",
}


@dataclass(frozen=True)
class Unit:
    """One unit evaluated: ``key`` is what users name it by (a code, or a username)."""

    kind: str
    id: int
    key: str
    name: str
    #: The community a unit belongs to, when it does (scope checks of community leads).
    community_id: int | None = None
    extra: str = ""

    def as_json(self) -> dict:
        out = {"kind": self.kind, "id": self.id, "key": self.key, "name": self.name}
        if self.extra:
            out["role"] = self.extra
        return out


#: The temporary table a kind's case → unit pairs are written to once per evaluation, when
#: they come from a join (frontage, inspector, post): the evaluation's four queries then read
#: it instead of each computing the pairs again.
MAPPING_TABLE = "evaluation_units"


def is_simple(kind: str) -> bool:
    """Whether the case's own column names its unit (no mapping table needed)."""
    return kind in SIMPLE_COLUMNS


def mapping_sql(kind: str) -> tuple[str, dict]:
    """The FROM-clause fragment that joins each case ``c`` to its units ``m`` of ``kind``.

    ``m`` has ``unit_id``, ``own_filing``, ``own_dispatch``, ``own_verification``,
    ``own_other`` (arrival, feedback, disposal clocks) and ``own_report`` (the case is the
    unit's own inspector report; for area kinds: any inspector report). For the kinds that
    need a join, ``m`` is the table ``mapping_create_sql`` filled.
    """
    if kind in SIMPLE_COLUMNS:
        column = SIMPLE_COLUMNS[kind]
        # A LATERAL of plain expressions is flattened by the planner: no join at all.
        return (
            f"CROSS JOIN LATERAL (SELECT c.{column} AS unit_id, {_FLAGS_ALL}, "
            "c.source = 'inspector' AS own_report) m",
            {},
        )
    if kind not in KINDS:
        raise ValueError(f"unknown unit kind {kind!r}; known: {', '.join(KINDS)}")
    return f"JOIN {MAPPING_TABLE} m ON m.case_id = c.id", {}


def mapping_create_sql(kind: str) -> tuple[str, dict]:
    """SQL that writes the (case, unit) pairs of a kind that needs a join into the temporary
    table ``MAPPING_TABLE`` (dropped at the end of the transaction)."""
    select, params = _mapping_select(kind)
    return (
        f"CREATE TEMPORARY TABLE {MAPPING_TABLE} ON COMMIT DROP AS {select}",
        params,
    )


def _mapping_select(kind: str) -> tuple[str, dict]:
    if kind == "frontage":
        return (
            "SELECT cz.case_id, cz.responsibilityzone_id AS unit_id, "
            f"{_FLAGS_ALL}, FALSE AS own_report "
            "FROM cases_case_zones cz JOIN gridmap_responsibilityzone z "
            "ON z.id = cz.responsibilityzone_id AND z.kind = 'frontage'",
            {},
        )
    if kind == "inspector":
        return (
            """
              SELECT case_id, unit_id, bool_or(r) AS own_report, bool_or(r) AS own_filing,
                     FALSE AS own_dispatch, bool_or(v) AS own_verification, FALSE AS own_other
              FROM (
                SELECT id AS case_id, reporter_id AS unit_id, TRUE AS r, FALSE AS v
                  FROM cases_case WHERE source = 'inspector' AND reporter_id IS NOT NULL
                UNION ALL
                SELECT id, verifier_id, FALSE, TRUE FROM cases_case WHERE verifier_id IS NOT NULL
                UNION ALL
                SELECT cz.case_id, z.responsible_user_id, FALSE, FALSE
                  FROM cases_case_zones cz JOIN gridmap_responsibilityzone z
                    ON z.id = cz.responsibilityzone_id AND z.kind = 'patrol'
                   AND z.responsible_user_id IS NOT NULL
              ) x GROUP BY case_id, unit_id""",
            {},
        )
    if kind == "post":
        return (
            """
              SELECT e.case_id, e.actor_id AS unit_id, FALSE AS own_report,
                     bool_or(e.kind IN ('file', 'reject')) AS own_filing,
                     bool_or(e.kind = 'dispatch') AS own_dispatch,
                     bool_or(e.kind = 'verify') AS own_verification, FALSE AS own_other
              FROM cases_caseevent e JOIN gridmap_user u
                ON u.id = e.actor_id AND u.role = ANY(%(post_roles)s)
              WHERE e.kind = ANY(%(post_steps)s)
                AND e.at >= %(from)s - %(post_lookback)s * interval '1 day'
                AND e.at < %(to)s
              GROUP BY e.case_id, e.actor_id""",
            {
                "post_roles": [str(r) for r in POST_ROLES],
                "post_steps": list(POST_STEPS),
                "post_lookback": POST_LOOKBACK_DAYS,
            },
        )
    raise ValueError(f"unknown unit kind {kind!r}; known: {', '.join(KINDS)}")


def units_of(kind: str, *, period_from=None, period_to=None) -> list[Unit]:
    """Every unit of ``kind`` there is (campaigns: those whose dates meet the period)."""
    if kind == "department":
        return [Unit(kind, d.pk, d.code, d.name) for d in Department.objects.order_by("code").all()]
    if kind == "team":
        return [Unit(kind, t.pk, t.code, t.name) for t in Team.objects.order_by("code").all()]
    if kind == "community":
        return [
            Unit(kind, c.pk, c.code, c.name, community_id=c.pk)
            for c in Community.objects.order_by("code").only("id", "code", "name")
        ]
    if kind == "frontage":
        zones = ResponsibilityZone.objects.filter(kind="frontage").order_by("code")
        return [
            Unit(kind, z.pk, z.code, z.holder or z.name, community_id=z.community_id)
            for z in zones.only("id", "code", "name", "holder", "community_id")
        ]
    if kind in ("inspector", "post"):
        roles = [User.Role.INSPECTOR] if kind == "inspector" else list(POST_ROLES)
        users = User.objects.filter(role__in=roles, is_active=True).order_by("username")
        return [
            Unit(kind, u.pk, u.username, u.get_full_name() or u.username, extra=u.role)
            for u in users
        ]
    if kind == "campaign":
        campaigns = Campaign.objects.order_by("code")
        if period_from is not None:
            campaigns = campaigns.exclude(ends_on__lt=period_from.date()).exclude(
                starts_on__gte=period_to.date()
            )
        return [Unit(kind, c.pk, c.code, c.name) for c in campaigns]
    raise ValueError(f"unknown unit kind {kind!r}; known: {', '.join(KINDS)}")


def units_by_id(kind: str, ids) -> dict[int, Unit]:
    """Units of ``kind`` by id, including ones ``units_of`` leaves out (a user whose role
    changed, a campaign outside its dates) but that cases of the period still name."""
    ids = [i for i in ids if i is not None]
    model = {
        "department": Department,
        "team": Team,
        "community": Community,
        "frontage": ResponsibilityZone,
        "inspector": User,
        "post": User,
        "campaign": Campaign,
    }[kind]
    out = {}
    for obj in model.objects.filter(pk__in=ids):
        if model is User:
            out[obj.pk] = Unit(
                kind, obj.pk, obj.username, obj.get_full_name() or obj.username, extra=obj.role
            )
        elif model is ResponsibilityZone:
            out[obj.pk] = Unit(
                kind, obj.pk, obj.code, obj.holder or obj.name, community_id=obj.community_id
            )
        else:
            community_id = obj.pk if model is Community else None
            out[obj.pk] = Unit(kind, obj.pk, obj.code, obj.name, community_id=community_id)
    return out
