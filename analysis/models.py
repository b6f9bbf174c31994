"""Analysis jobs: a heatmap, hotspot map or export run by a Celery worker, with its progress.

Large analyses (an export of a year of cases, a heatmap at fine cells) run in the background:
the request creates a job row and enqueues its task once the row is committed; the worker
records progress (0…1 and a message) on the row as it goes and finally the file. The row is the
truth: a page polls ``GET /api/v1/analysis/jobs/<id>`` and, when it is done, gets a signed
download link that expires (``GRIDMAP_ANALYSIS_LINK_TTL_S``).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def job_file_path(instance: "AnalysisJob", filename: str) -> str:
    return f"analysis/{instance.pk}/{filename}"


class AnalysisJob(models.Model):
    """One background analysis: what was asked (kind and parameters), by whom, how far it is,
    and its result file."""

    class Kind(models.TextChoices):
        HEATMAP = "heatmap", _("heatmap (热力图)")
        HOTSPOTS = "hotspots", _("hotspots (热点分析)")
        EXPORT = "export", _("export (导出)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    #: The request's parameters as strings (filters and the analysis's own options).
    params = models.JSONField(default=dict)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="analysis_jobs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    #: 0 … 1.
    progress = models.FloatField(default=0)
    message = models.CharField(max_length=300, blank=True)
    file = models.FileField(upload_to=job_file_path, max_length=200, blank=True)
    filename = models.CharField(max_length=100, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    #: Figures of the result (cases, cells, bounds…).
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("analysis job")
        verbose_name_plural = _("analysis jobs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"], name="analysisjob_user_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=1), name="analysisjob_progress_0_1"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.status})"
