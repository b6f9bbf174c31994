"""Pages of the cases app: the inbox (消息), the field page (执行端), the community page (社区)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gridmap.navigation import page_required

from .models import Case, Category, Clock, Notification

SHOWN = 100


@page_required("inbox")
@require_http_methods(["GET", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    """The newest notifications; POST marks one (``id``) or all of them read."""
    mine = Notification.objects.filter(user=request.user)
    if request.method == "POST":
        unread = mine.filter(read_at__isnull=True)
        if request.POST.get("id"):
            unread = unread.filter(pk=request.POST["id"])
        unread.update(read_at=timezone.now())
        return redirect("inbox-page")
    notes = list(mine.order_by("-id")[:SHOWN])
    return render(request, "cases/inbox.html", {"notes": notes})


@page_required("field")
def field(request: HttpRequest) -> HttpResponse:
    """The field page (执行端) for phones: tasks, arrival, feedback, patrol reports, attendance."""
    user = request.user
    categories = [
        {"code": c.code, "name": c.minor_name, "group": c.major_name}
        for c in Category.objects.filter(active=True).order_by("code")
    ]
    config = {
        "role": user.role,
        "inspector": user.role == "inspector",
        "team": {"code": user.team.code, "name": user.team.name} if user.team_id else None,
        "categories": categories,
        "labels": _field_labels(),
    }
    return render(request, "cases/field.html", {"field_config": config})


def _field_labels() -> dict:
    """The field page script's words, in the user's language."""
    return {
        "steps": {
            "arrive": _("Arrived"),
            "feedback": _("Video feedback"),
            "handle": _("Handled"),
            "return": _("Not ours: return"),
            "verify": _("Verify"),
        },
        "clocks": {
            "arrival": _("arrive in"),
            "feedback": _("feedback in"),
            "disposal": _("finish in"),
            "verification": _("verify in"),
        },
        "fields": {
            "files": _("Files"),
            "category": _("Category"),
            "location": _("Location"),
            "lon": _("Position"),
            "reason": _("Reason"),
            "override_reason": _("Reason"),
            "before": _("Photo before"),
            "after": _("Photo after"),
        },
        "navigate": _("Navigate"),
        "overdue": _("overdue by"),
        "note": _("Note"),
        "reason": _("Reason (required)"),
        "reason_needed": _("Say why the case is not ours."),
        "evidence_needed": _("Take or choose a photo or video first."),
        "override_needed": _("You are far from the case: say why you mark arrival."),
        "category_needed": _("Choose a category."),
        "before_after_needed": _("A fix on the spot needs a photo before and one after."),
        "gps_needed": _("No GPS position: allow location access and try again."),
        "gps_ok": _("GPS ±%(accuracy)s m"),
        "gps_none": _("No GPS position yet"),
        "sending": _("Sending…"),
        "failed": _("Failed"),
        "network": _("No connection. What you entered is kept: press the button again."),
        "retry": _("What you entered is kept: press the button again to retry."),
        "done": _("%(step)s: %(number)s done."),
        "reported": _("Reported as case %(number)s."),
        "attendance_done": _("Recorded."),
    }


@page_required("community")
def community(request: HttpRequest, code: str) -> HttpResponse:
    """A community's own page (社区): its grids, zones and holders, cameras and blind spots, open
    and overdue cases on a map and in a list, each case's history. A community lead sees only
    their own community; another community's page is a 404, as if it did not exist."""
    from django.contrib.gis.db.models.functions import Transform

    from gridmap.models import Community
    from gridmap.views import _map_config

    user = request.user
    found = (
        Community.objects.filter(code=code)
        .annotate(wgs84=Transform("geom", 4326))
        .select_related("subdistrict")
        .first()
    )
    if (
        found is None
        or (user.community_id and user.community_id != found.pk)
        or (user.subdistrict_id and user.subdistrict_id != found.subdistrict_id)
    ):
        raise Http404(_("No community %(code)s in your area.") % {"code": code})
    config = _map_config()
    config["extent"] = found.wgs84.extent
    shown = ["water", "buildings", "roads", "district", "communities", "grids", "zones"]
    config["layersOn"] = shown
    config["community"] = {"code": found.code, "name": found.name}
    config["communityLabels"] = _community_labels()
    return render(request, "cases/community.html", {"community": found, "map_config": config})


def _community_labels() -> dict:
    return {
        "cases": _("Open cases"),
        "overdue": _("Overdue"),
        "cameras": _("Cameras"),
        "viewsheds": _("What cameras see"),
        "blind_spots": _("Blind spots"),
        "history": _("History"),
        "none": _("No open cases."),
        "loading": _("Loading…"),
        "failed": _("Could not load: "),
        "stages": {value: str(label) for value, label in Case.Stage.choices},
    }


@page_required("console")
def console(request: HttpRequest) -> HttpResponse:
    """The commander console (指挥台): the live map, the queue, a case's detail, dispatch."""
    from cameras.models import VideoWall
    from gridmap.views import _map_config

    from . import workflow

    config = _map_config()
    config["layersOn"] = ["water", "buildings", "roads", "district", "communities", "teams"]
    config["console"] = {
        "role": request.user.role,
        "wall": VideoWall.objects.order_by("code").values_list("code", flat=True).first(),
        "transitions": {
            name: {
                "from": sorted(t.from_stages),
                "roles": sorted(t.roles),
                "reason": t.needs_reason,
            }
            for name, t in workflow.TRANSITIONS.items()
            if name in CONSOLE_STEPS
        },
        "labels": _console_labels(),
    }
    return render(request, "cases/console.html", {"map_config": config})


#: The loop's steps the console offers as buttons (dispatch goes through the recommendation).
CONSOLE_STEPS = ("file", "reject", "verify", "close", "suspend", "resume", "void", "supervise")


def _console_labels() -> dict:
    return {
        "steps": {
            "file": _("File (立案)"),
            "reject": _("Reject"),
            "verify": _("Verified: passed"),
            "close": _("Close (结案)"),
            "suspend": _("Suspend"),
            "resume": _("Resume"),
            "void": _("Void"),
            "supervise": _("Supervise (督办)"),
            "dispatch": _("Dispatch"),
        },
        "stages": {value: str(label) for value, label in Case.Stage.choices},
        "clocks": {value: str(label) for value, label in Clock.Kind.choices},
        "colours": {"green": _("on time"), "yellow": _("due soon"), "red": _("overdue")},
        "cases": _("Cases"),
        "queue_empty": _("No open cases."),
        "recommendation": _("Recommended teams"),
        "no_team": _("No team can be sent"),
        "straight_line": _("straight line"),
        "busy": _("busy"),
        "eta": _("ETA"),
        "min": _("min"),
        "timeline": _("Timeline"),
        "evidence": _("Evidence"),
        "cameras": _("Cameras that see it"),
        "to_wall": _("Show on the video wall"),
        "no_cameras": _("No camera sees this place."),
        "reason": _("Reason"),
        "reason_needed": _("Give a reason first."),
        "done": _("Done."),
        "failed": _("Failed: "),
        "reconnecting": _("Connection lost: reconnecting…"),
        "live": _("Live"),
        "search": _("Search an address"),
        "new_case": _("New case"),
        "overdue_by": _("overdue by"),
        "shown": _("shown"),
    }


@page_required("screen")
def big_screen(request: HttpRequest) -> HttpResponse:
    """The big screen (指挥大屏) for the centre's video wall, made for 1920 x 1080: today's
    figures, the most frequent problems, areas and hours, the sources, the live map and the
    camera tiles of the first video wall."""
    from cameras.models import VideoWall
    from gridmap.views import _map_config

    config = _map_config()
    config["layersOn"] = ["water", "buildings", "roads", "district", "communities", "teams"]
    config["screen"] = {
        "clocks": {value: str(label) for value, label in Clock.Kind.choices},
        "sources": {value: str(label) for value, label in Case.Source.choices},
        "refreshMs": 10_000,
    }
    wall = VideoWall.objects.order_by("code").first()
    return render(request, "cases/big_screen.html", {"map_config": config, "wall": wall})
