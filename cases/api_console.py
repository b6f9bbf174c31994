"""The console's API (指挥台): open cases for the map, the queue, and the live stream.

The stream is server-sent events from Redis pub/sub (``gridmap:console``): case transitions,
team statuses, escalations, camera statuses, published by whichever process made them. It
carries no history: after a dropped connection the page reloads the cases and the queue, which
the database holds (the page does that on every reconnection).
"""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmap.models import User

from .api import parse_bbox
from .console import console_cases, console_queue
from .notify import CONSOLE_CHANNEL
from .sse import channel_messages, sse_event, sse_response, wsgi_refusal
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
    return parse_bbox(value) if value else None


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
    if not may_use_console(user):
        return HttpResponse(status=403)
    if refusal := wsgi_refusal(request):
        return refusal

    async def events():
        messages = channel_messages(CONSOLE_CHANNEL, keepalive_s=KEEPALIVE_S)
        try:
            await anext(messages)
            yield "retry: 1000\n: connected\n\n"
            async for payload in messages:
                if payload is None:
                    yield ": keepalive\n\n"
                else:
                    yield sse_event(payload, event=payload.get("type", "message"))
        finally:
            await messages.aclose()

    return sse_response(events())
