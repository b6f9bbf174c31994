"""Pages of the cases app: the notification inbox (消息)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from gridmap.navigation import page_required

from .models import Notification

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
