"""Celery tasks of tracking: thin, periodic (Celery beat), each reading its work from the
database, so a missed run is caught up by the next."""

from celery import shared_task

from .services.attendance import absences_write
from .services.duty import duty_sweep
from .services.partitions import ensure_position_partitions


@shared_task(ignore_result=True)
def sweep_duty() -> dict:
    """Teams on or off duty from their fresh positions and shift plans."""
    return duty_sweep()


@shared_task(ignore_result=True)
def write_absences() -> int:
    """Absences of shifts that ended without a check-in."""
    return absences_write()


@shared_task(ignore_result=True)
def ensure_partitions() -> list[str]:
    """Monthly partitions of the position table, created ahead."""
    return ensure_position_partitions().created
