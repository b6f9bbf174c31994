"""``GET /api/v1/cases/<id>/recommendation``: the teams to send, best first (dispatch/recommend.py).

Checked like the case detail: a case outside the user's area is a 404 (as if it did not exist);
a role that may not dispatch (``dispatch`` in cases/workflow.py) a 403; not logged in a 401.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import workflow
from cases.selectors import cases_visible_to
from gridmap.models import Department

from .recommend import Candidate, Recommendation, recommend


class CandidateOutput(serializers.Serializer):
    rank = serializers.IntegerField()
    team_code = serializers.CharField()
    team_name = serializers.CharField()
    status = serializers.CharField(help_text="available, returning, responding, on_scene")
    available = serializers.BooleanField(help_text="false: busy, listed after the available")
    queue = serializers.IntegerField(help_text="open tasks (dispatched or on scene)")
    eta_s = serializers.FloatField(allow_null=True, help_text="estimated travel time, seconds")
    distance_m = serializers.FloatField(allow_null=True, help_text="metres along the route")
    method = serializers.ChoiceField(choices=["network", "straight_line"])
    reason = serializers.CharField(help_text="why the straight line, when it is used")
    origin = serializers.ChoiceField(
        choices=["position", "base", "stale_position", "none"],
        help_text="where the estimate starts: the fresh GPS fix, the base, an old fix",
    )
    position_at = serializers.DateTimeField(allow_null=True)
    route = serializers.JSONField(
        allow_null=True, help_text="GeoJSON LineString (WGS-84) from the team to the case"
    )


class RecommendationOutput(serializers.Serializer):
    case = serializers.IntegerField()
    at = serializers.DateTimeField()
    department = serializers.CharField(allow_null=True)
    eligible = serializers.IntegerField(help_text="teams that may be sent (before the top N)")
    network_current = serializers.BooleanField(
        help_text="false: roads changed since the network was last built (a rebuild is due)"
    )
    message = serializers.CharField(help_text="why no team can be sent, when none can")
    escalated = serializers.BooleanField(help_text="the shift leaders were told just now")
    candidates = CandidateOutput(many=True)


def candidate_json(c: Candidate) -> dict:
    return {
        "rank": c.rank,
        "team_code": c.team_code,
        "team_name": c.team_name,
        "status": c.status,
        "available": c.available,
        "queue": c.queue,
        "eta_s": None if c.eta_s is None else round(c.eta_s, 1),
        "distance_m": None if c.distance_m is None else round(c.distance_m, 1),
        "method": c.method,
        "reason": c.reason,
        "origin": c.origin,
        "position_at": c.position_at,
        "route": c.route_geojson(),
    }


def recommendation_json(r: Recommendation, *, case=None) -> dict:
    """The answer in JSON; ``case`` (with its department loaded) saves a query when the
    recommendation's department is the case's, as it usually is."""
    department = None
    if case is not None and case.department_id == r.department_id and case.department_id:
        department = case.department.code
    elif r.department_id is not None:
        department = Department.objects.filter(pk=r.department_id).values_list("code", flat=True)
        department = department.first()
    return {
        "case": r.case_id,
        "at": r.at,
        "department": department,
        "eligible": r.eligible,
        "network_current": r.network_current,
        "message": r.message,
        "escalated": r.escalated,
        "candidates": [candidate_json(c) for c in r.candidates],
    }


#: The fields of a case (and its category and department) that a recommendation reads.
CASE_FIELDS = (
    "id",
    "number",
    "geom",
    "community_id",
    "category__id",
    "category__department_id",
    "category__minor_name",
    "department__id",
    "department__code",
)


class RecommendationView(APIView):
    """The teams to send to a case, best first: ETA over the road network (or a straight line,
    saying so), distance and route; an empty list with a message when nobody can be sent."""

    @extend_schema(
        operation_id="cases_recommendation",
        parameters=[
            OpenApiParameter("top", int, description="how many teams (default 5, at most 50)")
        ],
        responses={200: RecommendationOutput, 400: None, 403: None, 404: None},
    )
    def get(self, request, pk: int):
        # Only what a recommendation reads: the case row is wide, and compiling and reading
        # all of it cost more than the recommendation itself.
        case = (
            cases_visible_to(request.user)
            .filter(pk=pk)
            .select_related("category", "department")
            .only(*CASE_FIELDS)
            .first()
        )
        if case is None:
            raise NotFound(_("No case %(id)s in your area.") % {"id": pk})
        if request.user.role not in workflow.TRANSITIONS["dispatch"].roles:
            raise PermissionDenied(
                _("A %(role)s does not dispatch cases.") % {"role": request.user.get_role_display()}
            )
        top = request.query_params.get("top")
        if top is not None:
            if not top.isdigit() or not 1 <= int(top) <= 50:
                raise ValidationError({"top": [_("top must be a whole number from 1 to 50.")]})
            top = int(top)
        return Response(recommendation_json(recommend(case, top=top), case=case))
