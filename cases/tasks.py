"""Celery tasks: thin interfaces to services (ids in, one service call).

Both run from Celery beat every ``GRIDMAP_SWEEP_INTERVAL_S`` seconds and read their work from
the database, so nothing is lost when Redis or a worker is down: the next sweep catches up.
"""

from celery import shared_task

from .loop import clocks_escalate_due
from .loop.teams import teams_back_from_jobs
from .notify import deliveries_send


@shared_task(ignore_result=True)
def sweep_clocks() -> int:
    """Escalate every overdue clock exactly once; teams back from a job are available again."""
    teams_back_from_jobs()
    return clocks_escalate_due()


@shared_task(ignore_result=True)
def deliver_notifications() -> int:
    """Send pending e-mail / SMS / webhook deliveries."""
    return deliveries_send()
