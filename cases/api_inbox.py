"""The notification inbox: list, unread count, mark read, and a live stream.

The stream is server-sent events from Redis pub/sub (``gridmap:user:<id>``), so any web process
can deliver what any other process published. On (re)connection the page sends the id of the
last notification it saw (``Last-Event-ID``, which EventSource does by itself) and first gets
everything newer from the database: nothing is missed while the connection was down.
"""

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Notification
from .notify import user_channel
from .sse import channel_messages, sse_event, sse_response, wsgi_refusal

KEEPALIVE_S = 20


def notification_json(note: Notification) -> dict:
    return {
        "id": note.pk,
        "kind": note.kind,
        "title": note.title,
        "body": note.body,
        "case": note.case_id,
        "created_at": note.created_at,
        "read": note.read_at is not None,
    }


class InboxView(APIView):
    """``GET /api/v1/notifications[?unread=1]``: the newest 100, and the unread count."""

    @extend_schema(parameters=[OpenApiParameter("unread", bool)], responses={200: None})
    def get(self, request):
        notes = Notification.objects.filter(user=request.user)
        unread = notes.filter(read_at__isnull=True)
        shown = unread if request.query_params.get("unread") in ("1", "true") else notes
        return Response(
            {
                "unread": unread.count(),
                "notifications": [notification_json(n) for n in shown.order_by("-id")[:100]],
            }
        )


class MarkReadView(APIView):
    """``POST /api/v1/notifications/<id>/read`` or ``/api/v1/notifications/read-all``."""

    everything = False

    @extend_schema(request=None, responses={200: None, 404: None})
    def post(self, request, pk: int | None = None):
        notes = Notification.objects.filter(user=request.user, read_at__isnull=True)
        if not self.everything:
            if not Notification.objects.filter(user=request.user, pk=pk).exists():
                return Response({"detail": "No such notification."}, status=404)
            notes = notes.filter(pk=pk)
        changed = notes.update(read_at=timezone.now())
        return Response({"marked": changed})


async def inbox_stream(request):
    """``GET /api/v1/notifications/stream``: server-sent events of the user's notifications."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    if refusal := wsgi_refusal(request):
        return refusal
    try:
        since = int(request.headers.get("Last-Event-ID") or request.GET.get("since") or 0)
    except ValueError:
        since = 0

    @sync_to_async
    def missed(after: int) -> list[dict]:
        return [
            notification_json(n)
            for n in Notification.objects.filter(user=user, pk__gt=after).order_by("id")[:200]
        ]

    async def events():
        messages = channel_messages(user_channel(user.pk), keepalive_s=KEEPALIVE_S)
        try:
            await anext(messages)  # subscribed: what comes now is not missed
            last = since
            for item in await missed(since) if since else []:
                last = item["id"]
                yield _sse(item, item["id"])
            yield ": connected\n\n"
            async for payload in messages:
                if payload is None:
                    yield ": keepalive\n\n"
                    continue
                if payload.get("id", 0) <= last:
                    continue
                last = payload.get("id", last)
                yield _sse(payload, payload.get("id"))
        finally:
            await messages.aclose()

    return sse_response(events())


def _sse(payload: dict, event_id) -> str:
    return sse_event(payload, event="notification", event_id=event_id)
