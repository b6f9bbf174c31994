"""The notification inbox: list, unread count, mark read, and a live stream.

The stream is server-sent events from Redis pub/sub (``gridmap:user:<id>``), so any web process
can deliver what any other process published. On (re)connection the page sends the id of the
last notification it saw (``Last-Event-ID``, which EventSource does by itself) and first gets
everything newer from the database: nothing is missed while the connection was down.
"""

import asyncio
import json

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Notification
from .notify import user_channel

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
    if not hasattr(request, "scope"):
        # Served by a WSGI server (runserver, a test's live server), an endless stream would
        # hold a worker thread for ever: say "come back later" and let EventSource retry.
        return HttpResponse("retry: 15000\n\n", content_type="text/event-stream")
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
        client = aioredis.Redis.from_url(settings.CELERY_BROKER_URL)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(user_channel(user.pk))
            last = since
            for item in await missed(since) if since else []:
                last = item["id"]
                yield _sse(item, item["id"])
            yield ": connected\n\n"
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=KEEPALIVE_S
                )
                if message is None:
                    yield ": keepalive\n\n"
                    continue
                payload = json.loads(message["data"])
                if payload.get("id", 0) <= last:
                    continue
                last = payload.get("id", last)
                yield _sse(payload, payload.get("id"))
        except asyncio.CancelledError:
            raise
        finally:
            await pubsub.aclose()
            await client.aclose()

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _sse(payload: dict, event_id) -> str:
    data = json.dumps(payload, ensure_ascii=False, default=str)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: notification\ndata: {data}\n\n"
