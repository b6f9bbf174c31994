"""Who answers for a case (责任): department, eligible teams, zone holders.

- The category names the responsible department (责任单位); a component's owner department
  answers for 部件 cases of its component.
- Per-community overrides (``ResponsibilityRule``, configured in the admin) win over both: in
  the community, cases of the category (or of any category) go to the rule's department, and
  only the rule's teams are eligible. The most specific rule wins: community and category, then
  category alone (district-wide), then community alone.
- Zones the case lies in: a frontage zone's holder (门前五包) is recorded and notified; a
  subcontract zone's leader (分包领导) joins the escalation chain; team jurisdiction zones limit
  which teams are eligible (dispatch/recommend.py).

Rules are few and read on every report and recommendation: they are cached in process and
reloaded after ``RULE_CACHE_S`` seconds or when this process saves or deletes one.
"""

import time
from dataclasses import dataclass

from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import ResponsibilityRule

RULE_CACHE_S = 30.0


@dataclass(frozen=True)
class Responsibility:
    """The answer for one case: its department and, when a rule names them, the only teams that
    may be sent (``team_ids``; None: any team of the department whose jurisdiction covers the
    case)."""

    department_id: int | None
    team_ids: frozenset[int] | None = None
    rule_id: int | None = None


@dataclass(frozen=True)
class _Rule:
    id: int
    department_id: int | None
    team_ids: frozenset[int]


class _RuleCache:
    def __init__(self) -> None:
        self._rules: dict[tuple[int | None, int | None], _Rule] = {}
        self._loaded_at = float("-inf")

    def invalidate(self, **kwargs) -> None:
        self._loaded_at = float("-inf")

    def lookup(self, community_id: int | None, category_id: int | None) -> _Rule | None:
        if time.monotonic() - self._loaded_at > RULE_CACHE_S:
            self._reload()
        rules = self._rules
        for key in ((community_id, category_id), (None, category_id), (community_id, None)):
            rule = rules.get(key)
            if rule is not None:
                return rule
        return None

    def _reload(self) -> None:
        teams: dict[int, set[int]] = {}
        through = ResponsibilityRule.teams.through
        for rule_id, team_id in through.objects.values_list("responsibilityrule_id", "team_id"):
            teams.setdefault(rule_id, set()).add(team_id)
        self._rules = {
            (community_id, category_id): _Rule(pk, department_id, frozenset(teams.get(pk, ())))
            for pk, community_id, category_id, department_id in (
                ResponsibilityRule.objects.values_list(
                    "pk", "community_id", "category_id", "department_id"
                )
            )
        }
        self._loaded_at = time.monotonic()


_rules = _RuleCache()
for _signal in (post_save, post_delete):
    _signal.connect(_rules.invalidate, sender=ResponsibilityRule, dispatch_uid=f"rules-{_signal}")
m2m_changed.connect(
    _rules.invalidate, sender=ResponsibilityRule.teams.through, dispatch_uid="rules-teams"
)


def responsibility(
    *,
    category,
    community_id: int | None,
    component_owner_id: int | None = None,
) -> Responsibility:
    """The department and eligible teams for a case of ``category`` in ``community_id``."""
    rule = _rules.lookup(community_id, category.pk)
    default = component_owner_id or category.department_id
    if rule is None:
        return Responsibility(department_id=default)
    return Responsibility(
        department_id=rule.department_id or default,
        team_ids=rule.team_ids or None,
        rule_id=rule.id,
    )


def responsibility_for(case) -> Responsibility:
    """The responsibility of a stored case; a department already set on the case (by intake or
    by hand) stands."""
    found = responsibility(
        category=case.category,
        community_id=case.community_id,
        component_owner_id=None,
    )
    if case.department_id and case.department_id != found.department_id:
        return Responsibility(case.department_id, found.team_ids, found.rule_id)
    return found
