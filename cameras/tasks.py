"""Celery tasks of cameras: thin interfaces to cameras/viewshed.py."""

from celery import shared_task

from .viewshed import viewsheds_compute_stale


@shared_task(ignore_result=True)
def compute_stale_viewsheds() -> int:
    """Recompute the viewsheds of the cameras marked stale (queued a few seconds after a camera
    or building edit commits; the queued copies of a burst of edits find nothing left)."""
    return viewsheds_compute_stale().cameras
