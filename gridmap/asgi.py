"""ASGI entry point (gunicorn with uvicorn workers): live updates need an async server."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
# Under ASGI each sync view runs in a fresh thread, and Django's persistent connections live per
# thread: without a pool every request would open a new PostgreSQL connection (~12 ms).
os.environ.setdefault("GRIDMAP_DB_POOL", "8")
application = get_asgi_application()

# Everything imported so far (Django, the apps, GeoDjango, pandas for the importers…) lives for
# the whole process: freezing it keeps the garbage collector from walking those hundreds of
# thousands of objects again and again, which showed as 50–100 ms stalls in the slowest
# requests.
gc.collect()
gc.freeze()
