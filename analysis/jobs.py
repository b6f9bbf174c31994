"""Background analysis jobs: create (checked first, then enqueued after commit), run with
progress, and signed download links that expire.

A job's parameters are checked when it is created, so bad input is a 400 at once, never a
failed job later. The worker records progress on the job row (``job_progress``), which the API
reads. The download link carries the job id signed with the deployment's secret key and the
time it was made (``django.core.signing.TimestampSigner``); after
``GRIDMAP_ANALYSIS_LINK_TTL_S`` seconds (default one hour) it is refused (410 Gone), and a
forged or altered link is a 404. Whoever holds a fresh link may download: that is what makes it
usable from a mail or a plain ``<a download>``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .models import AnalysisJob
from .selection import AnalysisInputError, AnalysisNotFound
from .services import analysis_check, analysis_run

logger = logging.getLogger(__name__)

LINK_TTL_S = int(getattr(settings, "GRIDMAP_ANALYSIS_LINK_TTL_S", 3600))
#: Finished jobs (and their files) are removed this long after they finished.
KEEP_S = int(getattr(settings, "GRIDMAP_ANALYSIS_KEEP_S", 7 * 24 * 3600))
SIGNER_SALT = "gridmap.analysis.download"


class LinkExpired(Exception):
    """A download link older than its time to live."""


def _plain(params: Mapping) -> dict:
    """Parameters as a dict of strings or lists of strings (a QueryDict, JSON or options)."""
    out: dict = {}
    keys = params.keys()
    for key in keys:
        values = params.getlist(key) if hasattr(params, "getlist") else params[key]
        if isinstance(values, list | tuple):
            values = [str(v) for v in values]
            out[key] = values[0] if len(values) == 1 else values
        elif values is not None:
            out[key] = str(values) if not isinstance(values, bool) else str(values).lower()
    return out


def job_create(*, kind: str, params: Mapping, user) -> AnalysisJob:
    """Check ``params`` for ``kind`` and create a queued job; its task is sent when the row is
    committed. Raises ``AnalysisInputError`` / ``AnalysisNotFound`` / ``AnalysisForbidden``
    like the analysis itself would."""
    plain = _plain(params)
    # Everything is checked now: bad input is the user's 400, never a failed job later.
    analysis_check(kind, plain, user=user)
    with transaction.atomic():
        job = AnalysisJob.objects.create(kind=kind, params=plain, user=user)
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id) -> None:
    from .tasks import run_analysis_job

    try:
        run_analysis_job.delay(str(job_id))
    except Exception:
        logger.exception("analysis job %s could not be enqueued; it stays queued", job_id)


def job_progress(job_id, fraction: float, message: str) -> None:
    """Record how far a job is (its own UPDATE, seen at once by the API)."""
    AnalysisJob.objects.filter(pk=job_id).update(
        progress=max(0.0, min(1.0, float(fraction))), message=message[:300]
    )


def job_run(job_id) -> AnalysisJob | None:
    """Run a queued job: the analysis with progress, then its file. A job already running or
    finished is left alone (a redelivered task). Errors end the job as failed with the
    message."""
    claimed = AnalysisJob.objects.filter(pk=job_id, status=AnalysisJob.Status.QUEUED).update(
        status=AnalysisJob.Status.RUNNING, started_at=timezone.now(), message="started"
    )
    if not claimed:
        return None
    job = AnalysisJob.objects.select_related("user").get(pk=job_id)
    try:
        result = analysis_run(
            job.kind,
            job.params,
            user=job.user,
            progress=lambda f, m: job_progress(job.pk, f, m),
        )
    except (AnalysisInputError, AnalysisNotFound, PermissionError) as exc:
        return _fail(job, str(exc))
    except Exception as exc:
        logger.exception("analysis job %s failed", job.pk)
        _fail(job, f"internal error: {type(exc).__name__}")
        raise
    job.file.save(result.filename, ContentFile(result.content), save=False)
    job.filename = result.filename
    job.content_type = result.content_type
    job.size_bytes = len(result.content)
    job.summary = result.summary
    job.status = AnalysisJob.Status.DONE
    job.progress = 1.0
    job.message = "done"
    job.finished_at = timezone.now()
    job.save()
    jobs_cleanup()
    return job


def jobs_cleanup(*, keep_s: float | None = None) -> int:
    """Remove finished jobs older than ``keep_s`` seconds (``GRIDMAP_ANALYSIS_KEEP_S``, a week)
    with their files; returns how many. Run after every job, so files never pile up."""
    cutoff = timezone.now() - timedelta(seconds=KEEP_S if keep_s is None else keep_s)
    old = AnalysisJob.objects.filter(
        status__in=[AnalysisJob.Status.DONE, AnalysisJob.Status.FAILED], finished_at__lt=cutoff
    )
    removed = 0
    for job in old:
        if job.file:
            job.file.delete(save=False)
        job.delete()
        removed += 1
    return removed


def _fail(job: AnalysisJob, message: str) -> AnalysisJob:
    job.status = AnalysisJob.Status.FAILED
    job.message = message[:300]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    return job


def download_token(job: AnalysisJob) -> str:
    """A signed, time-stamped token for the job's file."""
    return signing.TimestampSigner(salt=SIGNER_SALT).sign(str(job.pk))


def download_url(job: AnalysisJob) -> str:
    return reverse("analysis-download", kwargs={"token": download_token(job)})


def download_job(token: str) -> AnalysisJob:
    """The finished job a token names. Raises ``LinkExpired`` after ``LINK_TTL_S`` and
    ``AnalysisNotFound`` for a bad signature or a job without a file."""
    signer = signing.TimestampSigner(salt=SIGNER_SALT)
    try:
        job_id = signer.unsign(token, max_age=LINK_TTL_S)
    except signing.SignatureExpired:
        raise LinkExpired() from None
    except signing.BadSignature:
        raise AnalysisNotFound("no such download") from None
    job = AnalysisJob.objects.filter(pk=job_id, status=AnalysisJob.Status.DONE).first()
    if job is None or not job.file:
        raise AnalysisNotFound("no such download")
    return job
