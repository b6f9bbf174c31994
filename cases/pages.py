"""Pages of the cases app: the notification inbox (消息)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gridmap.navigation import page_required

from .models import Category, Notification

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
