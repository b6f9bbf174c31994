"""Pages of tracking: a team's track played back on a map (轨迹回放)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied

from cases.api_teams import teams_visible_to
from gridmap.selectors import district_extent_wgs84


@login_required
def track_page(request: HttpRequest, code: str) -> HttpResponse:
    """The team's track for a period (default: the last 8 hours) on a Leaflet map, with a
    play/pause slider moving a marker along it. 404 for a team the user may not see; the data
    comes from ``GET /api/v1/teams/<code>/track`` like any other client's."""
    try:
        team = teams_visible_to(request.user).filter(code=code).first()
    except ApiPermissionDenied as exc:
        raise PermissionDenied(str(exc.detail)) from exc
    if team is None:
        raise Http404(_("No team %(code)s that you can see.") % {"code": code})
    config = {
        "team": team.code,
        "extent": district_extent_wgs84(),
        "labels": {
            "play": _("Play"),
            "pause": _("Pause"),
            "empty": _("No positions in this period."),
            "fixes": _("fixes"),
            "failed": _("The track could not be loaded."),
        },
    }
    return render(request, "tracking/track.html", {"team": team, "config": config})
