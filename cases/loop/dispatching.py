"""Dispatch (任务派遣) and arrival (到达现场): the team's side of the loop."""

from django.utils.translation import gettext as _

from gridmap.models import STORAGE_SRID, Team, User

from .. import notify
from .core import LoopError, Outcome, move, step_point


def dispatch_effect(case, transition, actor, at, step) -> Outcome:
    code = step.params.get("team")
    if not code:
        raise LoopError(_("dispatch needs a team."), status=400, field="team")
    team = Team.objects.filter(code=code).first()
    if team is None:
        raise LoopError(_("There is no team %(code)s.") % {"code": code}, status=400, field="team")
    case.team = team
    case.department_id = case.department_id or team.department_id
    case.save(update_fields=["team", "department"])
    event = move(case, transition, actor, at, step, data={"team": team.code})
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


def arrive_effect(case, transition, actor, at, step) -> Outcome:
    if step.lon is None or step.lat is None:
        raise LoopError(
            _("arrive needs the team's position (lon, lat)."), status=400, field="location"
        )
    point = step_point(step).transform(STORAGE_SRID, clone=True)
    distance = case.geom.distance(point)
    return Outcome(
        case, move(case, transition, actor, at, step, data={"distance_m": round(distance, 1)})
    )
