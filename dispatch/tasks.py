"""Celery tasks of dispatch: thin interfaces to dispatch/network.py."""

from celery import shared_task

from .network import network_rebuild_if_behind


@shared_task(ignore_result=True)
def rebuild_network() -> int | None:
    """Rebuild the road network if roads changed since its last build (queued a few seconds
    after a road edit commits; the queued copies of a burst of edits find it current)."""
    build = network_rebuild_if_behind()
    return None if build is None else build.edges


@shared_task(ignore_result=True)
def network_catch_up() -> int | None:
    """The same as a periodic sweep (beat), for a rebuild lost while the broker was down."""
    build = network_rebuild_if_behind()
    return None if build is None else build.edges
