"""Field teams (执行队伍) for the live map and the phone page: list with status, position and
queue; a team's status set by hand (ready again, off duty); its status history.

Who sees which teams: centre staff, the office head, planners and evaluators all of them; a
department head the department's; a team leader or field member their own; a community lead
the teams whose jurisdiction reaches into the community. Others: 403.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.gis.db.models.functions import Transform
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmap.models import Community, Team, User

from . import workflow
from .api import loop_failed
from .loop import LoopError
from .loop.teams import team_status_set
from .models import TeamStatusChange
from .selectors import DISTRICT_ROLES

#: Who may set a team's status by hand (besides its own leader).
STATUS_SETTERS = {User.Role.DISPATCHER, User.Role.COMMANDER, User.Role.SHIFT_LEADER}


def teams_visible_to(user) -> QuerySet[Team]:
    """The teams ``user`` may see (PermissionDenied for roles that see none)."""
    teams = Team.objects.all()
    role = user.role
    if role in DISTRICT_ROLES:
        return teams
    if role == User.Role.DEPARTMENT_HEAD and user.department_id:
        return teams.filter(department_id=user.department_id)
    if role in (User.Role.TEAM_LEADER, User.Role.FIELD_MEMBER) and user.team_id:
        return teams.filter(pk=user.team_id)
    if role == User.Role.COMMUNITY_LEAD and user.community_id:
        area = Community.objects.filter(pk=user.community_id).values("geom")
        reaching = Team.objects.filter(jurisdictions__geom__intersects=area[:1]).values("pk")
        return teams.filter(pk__in=reaching)
    raise PermissionDenied(_("A %(role)s does not see field teams.") % {"role": role})


def team_json(team: Team, *, now) -> dict:
    fresh_after = now - timedelta(seconds=settings.GRIDMAP_POSITION_FRESH_S)
    position = None
    if team.position_wgs84 is not None:
        position = {
            "type": "Point",
            "coordinates": [round(team.position_wgs84.x, 7), round(team.position_wgs84.y, 7)],
        }
    return {
        "code": team.code,
        "name": team.name,
        "kind": team.kind,
        "department": team.department.code,
        "status": team.status,
        "status_label": team.get_status_display(),
        "queue": team.queue,
        "position": position,
        "position_at": team.position_at,
        "position_stale": team.position_at is None or team.position_at < fresh_after,
    }


class TeamListView(APIView):
    """``GET /api/v1/teams[?status=available]``: the teams you may see, with status, latest
    position (WGS-84; ``position_stale`` when older than ``GRIDMAP_POSITION_FRESH_S``) and
    queue (open tasks: dispatched or on scene)."""

    @extend_schema(responses={200: None, 403: None})
    def get(self, request):
        teams = (
            teams_visible_to(request.user)
            .select_related("department")
            .annotate(
                position_wgs84=Transform("position_geom", 4326),
                queue=Count(
                    "cases",
                    filter=Q(cases__stage__in=(workflow.DISPATCHED, workflow.ON_SCENE)),
                ),
            )
            .order_by("code")
        )
        wanted = request.query_params.get("status")
        if wanted:
            teams = teams.filter(status=wanted)
        now = timezone.now()
        return Response({"teams": [team_json(t, now=now) for t in teams]})


class TeamStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Team.Status.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class TeamStatusView(APIView):
    """``POST /api/v1/teams/<code>/status`` ``{"status": "available" | "off_duty"}`` — back
    from a job, or going off duty (only without open tasks: 409). The team's own leader, a
    dispatcher, a commander or a shift leader. ``GET`` lists its latest 100 changes."""

    def _team(self, request, code: str) -> Team:
        team = teams_visible_to(request.user).filter(code=code).first()
        if team is None:
            raise NotFound(_("No team %(code)s that you can see.") % {"code": code})
        return team

    @extend_schema(responses={200: None, 403: None, 404: None})
    def get(self, request, code: str):
        team = self._team(request, code)
        changes = TeamStatusChange.objects.filter(team=team).select_related("case")[:100]
        return Response(
            {
                "team": team.code,
                "status": team.status,
                "changes": [
                    {
                        "at": c.at,
                        "from": c.from_status,
                        "to": c.to_status,
                        "cause": c.cause,
                        "case": c.case.number if c.case else None,
                        "note": c.note,
                    }
                    for c in changes
                ],
            }
        )

    @extend_schema(request=TeamStatusInput, responses={200: None, 403: None, 404: None, 409: None})
    def post(self, request, code: str):
        team = self._team(request, code)
        user = request.user
        own_leader = user.role == User.Role.TEAM_LEADER and user.team_id == team.pk
        if not own_leader and user.role not in STATUS_SETTERS:
            raise PermissionDenied(
                _("Only the team's leader or a dispatcher sets a team's status.")
            )
        data = TeamStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            team = team_status_set(
                team=team,
                to=data.validated_data["status"],
                actor=user,
                note=data.validated_data.get("note", ""),
            )
        except LoopError as exc:
            raise loop_failed(exc) from exc
        return Response({"team": team.code, "status": team.status})
