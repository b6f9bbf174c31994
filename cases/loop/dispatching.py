"""Dispatch (任务派遣) and arrival (到达现场): the team's side of the loop.

A case goes to one team at a time: the case row is locked ``FOR UPDATE`` by every step, so of
two dispatchers racing for it the second finds it dispatched already and gets 409. A return
(回退, approved by a dispatcher) frees it for re-dispatch and counts against dispatch accuracy
(``dispatch_accuracy``). "Arrived" is accepted within ``GRIDMAP_ARRIVAL_RADIUS_M`` of the case;
further away only with an ``override_reason``, which the event keeps.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from gridmap.models import STORAGE_SRID, Team, User

from .. import notify, workflow
from ..models import CaseEvent
from .core import LoopError, Outcome, Step, move, step_point
from .teams import OFF_DUTY


def dispatch_effect(case, transition, actor, at, step) -> Outcome:
    code = step.params.get("team")
    if not code:
        raise LoopError(_("dispatch needs a team."), status=400, field="team")
    team = Team.objects.filter(code=code).first()
    if team is None:
        raise LoopError(_("There is no team %(code)s.") % {"code": code}, status=400, field="team")
    if team.status == OFF_DUTY:
        raise LoopError(
            _("Team %(team)s is off duty; pick another.") % {"team": team.name}, status=409
        )
    case.team = team
    case.department_id = case.department_id or team.department_id
    case.save(update_fields=["team", "department"])
    data = {"team": team.code, "team_status": team.status}
    data.update(step.params.get("dispatch_data") or {})
    event = move(case, transition, actor, at, step, data=data)
    leaders = User.objects.filter(team=team, is_active=True)
    notify.notify(
        leaders,
        kind="dispatched",
        case=case,
        title=_("New task %(number)s: %(category)s")
        % {"number": case.number, "category": case.category.minor_name},
        body=case.description[:500],
    )
    return Outcome(case, event)


def _team_fix(team: Team | None, at: datetime):
    """The team's latest GPS fix if it is fresh at ``at`` (storage SRID), else None."""
    if team is None or team.position_geom is None or team.position_at is None:
        return None
    age = (at - team.position_at).total_seconds()
    return team.position_geom if age <= settings.GRIDMAP_POSITION_FRESH_S else None


def arrive_effect(case, transition, actor, at, step) -> Outcome:
    if step.lon is not None and step.lat is not None:
        point, source = step_point(step).transform(STORAGE_SRID, clone=True), "reported"
    else:
        point, source = _team_fix(case.team, at), "team_gps"
        if point is None:
            raise LoopError(
                _("arrive needs the team's position (lon, lat): it has no fresh GPS fix."),
                status=400,
                field="location",
            )
    distance = case.geom.distance(point)
    radius = settings.GRIDMAP_ARRIVAL_RADIUS_M
    override = (step.params.get("override_reason") or "").strip()
    if distance > radius and not override:
        raise LoopError(
            _(
                "The position is %(d).0f m from the case; arrival is accepted within %(r).0f m. "
                "Move closer, or give an override_reason."
            )
            % {"d": distance, "r": radius},
            status=409,
            field="location",
        )
    data = {"distance_m": round(distance, 1), "position": source}
    if distance > radius:
        data["override_reason"] = override[:300]
    return Outcome(case, move(case, transition, actor, at, step, data=data))


def case_dispatch_auto(case, *, at: datetime) -> CaseEvent | None:
    """Automatic dispatch (自动派遣) of a just-filed case of a category that asks for it: to the
    best available team of the recommendation (dispatch/recommend.py: by road-network ETA), in
    the filing's transaction. None when no team is available: the case waits for a dispatcher
    (its dispatch clock escalates as usual; with no eligible team at all the recommendation has
    already told the shift leaders)."""
    from dispatch.recommend import recommend

    offer = recommend(case, now=at)
    pick = next((c for c in offer.candidates if c.available), None)
    if pick is None:
        return None
    step = Step(
        note=_("Automatic dispatch"),
        params={
            "team": pick.team_code,
            "dispatch_data": {
                "auto": True,
                "rank": pick.rank,
                "eta_s": None if pick.eta_s is None else round(pick.eta_s, 1),
                "method": pick.method,
            },
        },
    )
    outcome = dispatch_effect(case, workflow.TRANSITIONS["dispatch"], None, at, step)
    return outcome.event


def dispatch_accuracy(*, start: datetime | None = None, end: datetime | None = None) -> dict:
    """派遣准确率: the share of dispatches in [start, end) not returned (回退) by the team.

    ``{"dispatches": n, "returns": r, "accuracy": 1 - r / n}`` (accuracy None without
    dispatches); a return counts in the period of its dispatch's approval."""
    end = end or timezone.now()
    events = CaseEvent.objects.filter(at__lt=end)
    if start is not None:
        events = events.filter(at__gte=start)
    dispatches = events.filter(kind="dispatch").count()
    returns = events.filter(kind="approve_return").count()
    return {
        "dispatches": dispatches,
        "returns": returns,
        "accuracy": round(1 - returns / dispatches, 4) if dispatches else None,
    }
