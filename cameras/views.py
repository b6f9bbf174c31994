"""Pages of cameras: the video wall (视频墙) in a browser, filling the screen."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .models import Camera, VideoWall
from .walls import may_run_walls


@login_required
def wall_page(request: HttpRequest, code: str) -> HttpResponse:
    """A wall's rows x columns of tiles: live HLS video where the camera streams HLS, otherwise
    its snapshot, otherwise a placeholder naming it. The page asks the API for the layout every
    few seconds and redraws only the tiles that changed, so playing videos keep playing."""
    if not may_run_walls(request.user):
        raise PermissionDenied(_("Your role may not use the video walls."))
    wall = get_object_or_404(VideoWall, code=code)
    config = {
        "api": reverse("wall-detail", args=[wall.code]),
        "focusUrl": reverse("wall-focus", args=[wall.code]),
        "pollMs": max(500, int(settings.GRIDMAP_WALL_POLL_S * 1000)),
        "labels": {
            "empty": _("No camera"),
            "noPicture": _("No picture"),
            "noSignal": _("No signal"),
            "focused": _("Wall filled for case %(case)s: %(seeing)s of %(count)s cameras see it."),
            "status": {value: str(label) for value, label in Camera.Status.choices},
        },
    }
    return render(request, "cameras/wall.html", {"wall": wall, "wall_config": config})
