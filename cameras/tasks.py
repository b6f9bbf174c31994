"""Celery tasks of cameras: thin interfaces to cameras/viewshed.py and cameras/coverage.py."""

from celery import shared_task

from .coverage import coverage_current
from .viewshed import viewsheds_compute_stale


@shared_task(ignore_result=True)
def compute_stale_viewsheds() -> int:
    """Recompute the viewsheds of the cameras marked stale (queued a few seconds after a camera
    or building edit commits, and run by beat to catch up with bulk writes; the queued copies of
    a burst of edits find nothing left). When some changed, the coverage is computed and cached
    right away, so that the next map request does not wait for it."""
    run = viewsheds_compute_stale()
    if run.cameras:
        coverage_current()
    return run.cameras
