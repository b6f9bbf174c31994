"""Server-sent event streams from Redis pub/sub, shared by the inbox and the console streams.

Any web process delivers what any other published (the channels are Redis's). Under a WSGI
server (runserver, a test's live server) Django would buffer an endless async stream and hold
the thread for ever, so there a stream answers "retry later" and EventSource comes back.
"""

import asyncio
import json
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse

KEEPALIVE_S = 20


def wsgi_refusal(request) -> HttpResponse | None:
    """A short "retry later" answer when the request came through WSGI, else None."""
    if hasattr(request, "scope"):
        return None
    return HttpResponse("retry: 15000\n\n", content_type="text/event-stream")


async def channel_messages(channel: str, *, keepalive_s: float = KEEPALIVE_S) -> AsyncIterator:
    """None once subscribed (so that a caller can replay what it missed without a gap), then
    the payloads published on ``channel`` (decoded JSON), and None after every ``keepalive_s``
    of silence (for a keep-alive comment); unsubscribes when closed."""
    client = aioredis.Redis.from_url(settings.CELERY_BROKER_URL)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel)
        yield None
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=keepalive_s)
            yield None if message is None else json.loads(message["data"])
    except asyncio.CancelledError:
        raise
    finally:
        await pubsub.aclose()
        await client.aclose()


def sse_event(payload: dict, *, event: str, event_id=None) -> str:
    data = json.dumps(payload, ensure_ascii=False, default=str)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


def sse_response(events: AsyncIterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
