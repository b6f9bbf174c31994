"""gridmap: the Django project and the district's spatial backbone."""

from .celery import app as celery_app

__all__ = ["celery_app"]
