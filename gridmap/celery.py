"""The Celery application: workers and beat share Django's settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")

app = Celery("gridmap")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
