"""Celery tasks of analyses: thin interfaces (a job id in, one service call)."""

from celery import shared_task

from .jobs import job_run


@shared_task(ignore_result=True)
def run_analysis_job(job_id: str) -> None:
    """Run one queued analysis job (heatmap, hotspots, export), recording its progress."""
    job_run(job_id)
