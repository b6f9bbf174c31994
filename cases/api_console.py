"""The console's API (指挥台): open cases for the map, the queue, and the live stream.

The stream is server-sent events from Redis pub/sub (``gridmap:console``): case transitions,
team statuses, escalations, camera statuses, published by whichever process made them. It
carries no history: after a dropped connection the page reloads the cases and the queue, which
the database holds (the page does that on every reconnection).
"""

import asyncio
import json

import redis.asyncio as aioredis
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmap.models import User

from .console import console_cases, console_queue
from .notify import CONSOLE_CHANNEL
from .today import today_figures

CONSOLE_ROLES = frozenset(
    {User.Role.COMMANDER, User.Role.DISPATCHER, User.Role.OPERATOR, User.Role.SHIFT_LEADER}
)
KEEPALIVE_S = 15


def may_use_console(user) -> bool:
    return user.is_authenticated and (user.role in CONSOLE_ROLES or user.is_superuser)


def _check(user) -> None:
    if not may_use_console(user):
        raise PermissionDenied(
            _("The console is for commanders, dispatchers, operators and shift leaders.")
        )


def _bbox(value: str | None):
    if not value:
        return None
    try:
        west, south, east, north = (float(v) for v in value.split(","))
    except ValueError:
        raise ValidationError(
            {"bbox": [_("bbox must be four numbers: min_lon,min_lat,max_lon,max_lat.")]}
        ) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValidationError({"bbox": [_("bbox is not a valid WGS-84 box.")]})
    return west, south, east, north


class ConsoleCasesView(APIView):
    """``GET /api/v1/console/cases?bbox=``: the open cases in view, compact (see
    cases/console.py), or cells of them when there are many."""

    @extend_schema(parameters=[OpenApiParameter("bbox", str)], responses={200: None})
    def get(self, request):
        _check(request.user)
        return Response(console_cases(request.user, bbox=_bbox(request.query_params.get("bbox"))))


class ConsoleQueueView(APIView):
    """``GET /api/v1/console/queue``: open cases, nearest deadline first."""

    @extend_schema(responses={200: None})
    def get(self, request):
        _check(request.user)
        return Response({"queue": console_queue(request.user)})


class ConsoleTodayView(APIView):
    """``GET /api/v1/console/today``: today's figures for the big screen (cases/today.py)."""

    @extend_schema(responses={200: None})
    def get(self, request):
        _check(request.user)
        return Response(today_figures(request.user))


async def console_stream(request):
    """``GET /api/v1/console/stream``: server-sent events of what changes on the console."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    if not hasattr(request, "scope"):
        # Served by a WSGI server (runserver, a test's live server), an endless stream would
        # hold a worker thread for ever: say "come back later" and let EventSource retry.
        return HttpResponse("retry: 15000\n\n", content_type="text/event-stream")
    if not may_use_console(user):
        return HttpResponse(status=403)

    async def events():
        client = aioredis.Redis.from_url(settings.CELERY_BROKER_URL)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CONSOLE_CHANNEL)
            yield "retry: 1000\n: connected\n\n"
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=KEEPALIVE_S
                )
                if message is None:
                    yield ": keepalive\n\n"
                    continue
                payload = json.loads(message["data"])
                kind = payload.get("type", "message")
                data = json.dumps(payload, ensure_ascii=False, default=str)
                yield f"event: {kind}\ndata: {data}\n\n"
        except asyncio.CancelledError:
            raise
        finally:
            await pubsub.aclose()
            await client.aclose()

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
