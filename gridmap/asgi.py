"""ASGI entry point (gunicorn with uvicorn workers): live updates need an async server.

Django's own ASGI handler runs the middleware in "async" mode, which hops between the event loop
and a thread for every middleware's request and response (two dozen hops a request), and gives
every request a thread of its own (and so a database connection of its own, hence a pool). Here
the whole synchronous stack — middleware and view — runs in one hop, in one long-lived thread
per worker, one request after the other, as in a synchronous worker: the thread and its database
connection persist, and requests are served first come, first served instead of fighting over
the GIL. Measured at concurrency 8 on 2 workers: a trivial view 800 → 2,850 req/s, case intake
220 → 460 cases/s with p99 85 → 45 ms. Asynchronous views (the live streams) run on the event
loop as before; a streaming body is iterated there.

The price: a slow request holds up the requests behind it in its worker, as in a synchronous
worker, so long jobs belong in Celery and ``GRIDMAP_WEB_WORKERS`` sets how many workers run.
"""

import gc
import os

from asgiref.sync import sync_to_async
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")


class SerialSyncASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        # The whole middleware chain in synchronous mode: in "async" mode every middleware's
        # process_request/response hops to the thread and back (two dozen hops a request).
        self.load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # No ThreadSensitiveContext: thread-sensitive code goes to asgiref's single thread.
        await self.handle(scope, receive, send)

    async def get_response_async(self, request):
        # One hop into the thread for the whole request (async views are run to their response
        # there by Django; a streaming body is still iterated on the event loop).
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


get_asgi_application()  # sets Django up
application = SerialSyncASGIHandler()

# Everything imported so far (Django, the apps, GeoDjango, pandas for the importers…) lives for
# the whole process: freezing it keeps the garbage collector from walking those hundreds of
# thousands of objects again and again, which showed as 50–100 ms stalls in the slowest
# requests.
gc.collect()
gc.freeze()
