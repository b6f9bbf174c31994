"""Reads of cases: what a user may see (role and area), lists with filters, one case's record."""

import time

from django.db.models import Q, QuerySet
from django.db.models.signals import post_save

from gridmap.models import User

from .models import Case, Category, CategoryTimeLimit

#: Roles that see every case of the district.
DISTRICT_ROLES = {
    User.Role.COMMANDER,
    User.Role.DISPATCHER,
    User.Role.OPERATOR,
    User.Role.SHIFT_LEADER,
    User.Role.OFFICE_HEAD,
    User.Role.PLANNER,
    User.Role.EVALUATOR,
    User.Role.ADMIN,
}


def cases_visible_to(user) -> QuerySet[Case]:
    """The cases ``user`` may see; everything else must look as if it did not exist (404).

    - centre staff, office head, planners, evaluators, administrators: the whole district
      (narrowed to their subdistrict or community when their account has one);
    - a community lead: the cases in their community;
    - a department head: the cases their department answers for;
    - a team leader or field member: the cases dispatched to their team, and what they reported;
    - a patrol inspector: what they reported, what they are to verify, and the cases in their
      patrol zones;
    - a device (camera, 4G unit): what it reported.
    """
    cases = Case.objects.all()
    if not user.is_authenticated:
        return cases.none()
    role = user.role
    if user.community_id:
        cases = cases.filter(community_id=user.community_id)
    elif user.subdistrict_id and role != User.Role.INSPECTOR:
        cases = cases.filter(subdistrict_id=user.subdistrict_id)
    if role in DISTRICT_ROLES or role == User.Role.COMMUNITY_LEAD:
        return cases if (role in DISTRICT_ROLES or user.community_id) else cases.none()
    if role == User.Role.DEPARTMENT_HEAD:
        return (
            cases.filter(department_id=user.department_id) if user.department_id else cases.none()
        )
    if role in (User.Role.TEAM_LEADER, User.Role.FIELD_MEMBER):
        return (
            cases.filter(Q(team_id=user.team_id) | Q(reporter=user))
            if user.team_id
            else (cases.filter(reporter=user))
        )
    if role == User.Role.INSPECTOR:
        return cases.filter(
            Q(reporter=user)
            | Q(verifier=user)
            | Q(zones__kind="patrol", zones__responsible_user=user)
        ).distinct()
    return cases.filter(reporter=user)


class _CategoryCache:
    """Active categories by code, in process: intake reads one per report. Reloaded after
    ``CATEGORY_CACHE_S`` seconds, on an unknown code, and when this process saves one."""

    def __init__(self) -> None:
        self._by_code: dict[str, Category] = {}
        self._loaded_at = float("-inf")

    def invalidate(self, **kwargs) -> None:
        self._loaded_at = float("-inf")

    def get(self, code: str) -> Category | None:
        stale = time.monotonic() - self._loaded_at > CATEGORY_CACHE_S
        if stale or code not in self._by_code:
            self._by_code = {
                c.code: c for c in Category.objects.filter(active=True).select_related("department")
            }
            self._loaded_at = time.monotonic()
        return self._by_code.get(code)


CATEGORY_CACHE_S = 60.0
_categories = _CategoryCache()
post_save.connect(_categories.invalidate, sender=Category, dispatch_uid="category-cache")
post_save.connect(_categories.invalidate, sender=CategoryTimeLimit, dispatch_uid="limit-cache")


def category_by_code(code: str) -> Category | None:
    """The active category with this code (cached in process), or None."""
    return _categories.get(code)
