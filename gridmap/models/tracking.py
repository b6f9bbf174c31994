"""Position tracks (定位轨迹): every GPS fix a phone or a vehicle's 4G unit posted.

The table is partitioned by month on ``at`` (PostgreSQL declarative partitioning, ``PARTITION
BY RANGE (at)``), which Django cannot create: migration 0006 creates it in SQL and records the
model in the migration state only (SeparateDatabaseAndState). The model stays managed so that
Django's flush empties it too; a later schema change to it must be written by hand the same way.
The primary key is ``(device_id, at)``: a partitioned table's unique keys must contain the
partition key, and a unit's fix at a given instant is the same fix however often it is sent
(a repeat is a duplicate, not a second row). Monthly partitions are created ahead by
``ensure_position_partitions`` (a command and a Celery beat task); a DEFAULT partition takes
whatever falls outside them, so no fix is ever refused for lack of a partition.

Neither ``device`` nor ``team`` is a foreign key in the database: the intake writes only the ids
of devices it has just read and locked in the same transaction, and the per-row checks of a
foreign key ran at every commit, about a tenth of a batch's database time (measured with
bench/positions.py's raw insert: 4.7 → 4.1 ms per batch of 100 at production durability).

Rows are written in bulk by ``tracking.services.positions`` (one INSERT … SELECT FROM unnest per
batch), never saved one by one.
"""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from .base import STORAGE_SRID


class Position(models.Model):
    """One GPS fix of a device (phone or vehicle unit), in the storage CRS.

    ``flag`` empty: a good fix (it may become its team's position). Otherwise it was stored but
    is not trusted: ``outside_district`` (farther than the margin from the district),
    ``impossible_speed`` (faster than ``GRIDMAP_MAX_FIX_SPEED_KMH`` from the unit's previous
    good fix), ``inaccurate`` (reported accuracy worse than the configured limit).
    ``team`` is the device's team when the fix arrived (tracks by team survive reassignment; no
    foreign key in the database, so deleting a team leaves its old tracks alone).
    """

    class Flag(models.TextChoices):
        GOOD = "", _("good")
        OUTSIDE_DISTRICT = "outside_district", _("outside the district")
        IMPOSSIBLE_SPEED = "impossible_speed", _("impossible speed from the previous fix")
        INACCURATE = "inaccurate", _("inaccurate fix")

    pk = models.CompositePrimaryKey("device_id", "at")
    #: No foreign key in the database (see the module docstring); Django's PROTECT still
    #: refuses to delete a device that has positions.
    device = models.ForeignKey(
        "gridmap.Device", on_delete=models.PROTECT, related_name="positions", db_constraint=False
    )
    at = models.DateTimeField(_("time of fix"))
    team = models.ForeignKey(
        "gridmap.Team",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False)
    speed_kmh = models.FloatField(null=True, blank=True)
    heading = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    flag = models.CharField(max_length=20, choices=Flag.choices, blank=True, default="")
    received_at = models.DateTimeField()

    class Meta:
        db_table = "gridmap_position"
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["device", "at"]

    def __str__(self) -> str:
        return f"{self.device_id} {self.at:%Y-%m-%d %H:%M:%S}"
