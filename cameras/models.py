"""Cameras (天网视频监控点位) and what they see.

A fixed camera looks along ``heading_deg`` (degrees clockwise from north) with a horizontal field
of view ``fov_deg`` out to ``range_m``; a PTZ dome (球机) can turn and so covers a full circle
within its range. Its ``viewshed_geom`` is that sector minus everything building footprints hide
from it (cameras/viewshed.py), recomputed when the camera or the buildings change.
"""

import math

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap.models.base import STORAGE_SRID, CodedFeature, gist, valid_geometry


def fov_from_lens(focal_length_mm: float, sensor_width_mm: float) -> float:
    """Horizontal field of view (degrees) of a lens on a sensor: 2·atan(w / 2f)."""
    return math.degrees(2 * math.atan(sensor_width_mm / (2 * focal_length_mm)))


class Camera(CodedFeature):
    """摄像头 — a camera on a pole, a junction or a building wall."""

    class Status(models.TextChoices):
        ONLINE = "online", _("online")
        OFFLINE = "offline", _("offline (no heartbeat)")
        FAULT = "fault", _("fault")
        UNKNOWN = "unknown", _("unknown")

    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False)
    mount_height_m = models.FloatField(_("mount height (m)"), default=6.0)
    #: Degrees clockwise from north; for a PTZ dome, where it rests (its preset 1).
    heading_deg = models.FloatField(_("heading (°)"), default=0.0)
    fov_deg = models.FloatField(_("horizontal field of view (°)"), default=60.0)
    #: When given, the field of view follows from them (``fov_from_lens``).
    focal_length_mm = models.FloatField(null=True, blank=True)
    sensor_width_mm = models.FloatField(null=True, blank=True)
    range_m = models.FloatField(_("range (m)"), default=80.0)
    ptz = models.BooleanField(_("PTZ dome (球机)"), default=False)
    stream_url = models.CharField(
        max_length=500, blank=True, help_text=_("RTSP or HLS (.m3u8) address of the live video.")
    )
    snapshot_url = models.CharField(max_length=500, blank=True)
    owner = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    #: The account (role ``device``) whose token posts this camera's events and heartbeats.
    device_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cameras",
    )
    viewshed_geom = models.MultiPolygonField(
        srid=STORAGE_SRID, spatial_index=False, null=True, blank=True
    )
    viewshed_computed_at = models.DateTimeField(null=True, blank=True)
    #: What an importer filled in by default (field names), to be checked on site.
    defaulted = models.JSONField(default=list, blank=True)

    class Meta(CodedFeature.Meta):
        verbose_name = _("camera")
        verbose_name_plural = _("cameras")
        indexes = [gist("camera"), gist("camera", "viewshed_geom")]
        constraints = [
            valid_geometry("camera"),
            valid_geometry("camera", "viewshed_geom"),
            models.CheckConstraint(
                condition=Q(heading_deg__gte=0) & Q(heading_deg__lt=360), name="camera_heading"
            ),
            models.CheckConstraint(
                condition=Q(fov_deg__gt=0) & Q(fov_deg__lte=360), name="camera_fov"
            ),
            models.CheckConstraint(condition=Q(range_m__gt=0), name="camera_range"),
            models.CheckConstraint(condition=Q(mount_height_m__gte=0), name="camera_height"),
        ]

    @property
    def effective_fov_deg(self) -> float:
        """360 for a PTZ dome; from the lens when given; else ``fov_deg``."""
        if self.ptz:
            return 360.0
        if self.focal_length_mm and self.sensor_width_mm:
            return fov_from_lens(self.focal_length_mm, self.sensor_width_mm)
        return self.fov_deg


class CameraEvent(models.Model):
    """An event a camera's analytics reported (智能识别告警): a detected problem at a time.

    It becomes a case in ``reported`` (source camera) unless the same camera reported the same
    category within the deduplication window: then ``duplicate_of`` names the event that did,
    and the case is that event's."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time of detection"))
    #: The category the device sent, as sent (a standard code or a name).
    detected = models.CharField(_("detected category"), max_length=100)
    category = models.ForeignKey(
        "cases.Category", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confidence = models.FloatField(null=True, blank=True)
    snapshot = models.FileField(upload_to="camera-events/%Y/%m/", blank=True)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="repeats"
    )
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("camera event")
        verbose_name_plural = _("camera events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["camera", "category", "at"], name="cameraevent_dedup")]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="cameraevent_confidence",
            )
        ]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.detected} {self.at:%Y-%m-%d %H:%M:%S}"


class VideoWall(CodedFeature):
    """A video wall (视频墙) of ``rows`` x ``cols`` tiles; the centre's is 3 x 3."""

    rows = models.PositiveSmallIntegerField(default=3)
    cols = models.PositiveSmallIntegerField(default=3)

    class Meta(CodedFeature.Meta):
        verbose_name = _("video wall")
        verbose_name_plural = _("video walls")
        constraints = [
            models.CheckConstraint(
                condition=Q(rows__gte=1) & Q(rows__lte=8) & Q(cols__gte=1) & Q(cols__lte=8),
                name="videowall_size",
            )
        ]


class WallTile(models.Model):
    """The camera a tile of a wall shows now (row and column from 0)."""

    wall = models.ForeignKey(VideoWall, on_delete=models.CASCADE, related_name="tiles")
    row = models.PositiveSmallIntegerField()
    col = models.PositiveSmallIntegerField()
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("wall tile")
        verbose_name_plural = _("wall tiles")
        ordering = ["wall", "row", "col"]
        constraints = [
            models.UniqueConstraint(fields=["wall", "row", "col"], name="walltile_unique")
        ]


class WallPreset(models.Model):
    """A saved layout of a wall (预置方案): ``tiles`` is ``[{"row", "col", "camera"}]`` with
    camera codes."""

    wall = models.ForeignKey(VideoWall, on_delete=models.CASCADE, related_name="presets")
    name = models.CharField(max_length=100)
    tiles = models.JSONField(default=list)

    class Meta:
        verbose_name = _("wall preset")
        verbose_name_plural = _("wall presets")
        ordering = ["wall", "name"]
        constraints = [models.UniqueConstraint(fields=["wall", "name"], name="wallpreset_unique")]
