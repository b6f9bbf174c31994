"""ASGI entry point (gunicorn with uvicorn workers): live updates need an async server."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
application = get_asgi_application()
