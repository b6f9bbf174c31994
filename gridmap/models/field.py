"""Teams in the field: shift plans, devices and vehicles, position tracks, attendance, geofences.

A ``Device`` is a phone or a vehicle's 4G unit posting GPS fixes with a token of its own (its
``user``, role ``device``); a fix names the device's ``unit_id``, and a device cannot post for
another's. Fixes are stored as position rows (gridmap/models/tracking.py). ``Geofence`` rows are
the approved routes of muck trucks (渣土车) and the zones closed to them (around construction
sites, schools at school hours); crossing one raises a ``GeofenceEvent``.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import STORAGE_SRID, gist, valid_geometry


class ShiftPlan(models.Model):
    """A team's working hours on a weekday (0 = Monday), the roster dispatch and attendance
    read. A shift may run past midnight (``end`` before ``start``)."""

    team = models.ForeignKey("gridmap.Team", on_delete=models.CASCADE, related_name="shifts")
    weekday = models.PositiveSmallIntegerField()
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["team", "weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="shiftplan_weekday")
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.weekday} {self.start:%H:%M}-{self.end:%H:%M}"


class Vehicle(models.Model):
    """A patrol car or a muck truck (渣土车), with its plate."""

    class Kind(models.TextChoices):
        PATROL_CAR = "patrol_car", _("patrol car")
        MUCK_TRUCK = "muck_truck", _("muck truck (渣土车)")

    code = models.CharField(max_length=40, unique=True)
    plate = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    team = models.ForeignKey(
        "gridmap.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="vehicles"
    )
    #: The company running a muck truck (not one of our teams).
    operator = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.plate or self.code


class Device(models.Model):
    """A phone or a vehicle's 4G unit that posts GPS fixes (``unit_id`` is what it sends)."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("phone")
        VEHICLE_UNIT = "vehicle_unit", _("vehicle 4G unit")

    unit_id = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PHONE)
    #: The account whose token the device uses (role ``device``, or the field member's own).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices"
    )
    team = models.ForeignKey(
        "gridmap.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    active = models.BooleanField(default=True)
    last_fix_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["unit_id"]

    def __str__(self) -> str:
        return self.unit_id


class Attendance(models.Model):
    """A check-in or check-out (签到 / 签退) of a team member, against the shift plan and the
    team's base geofence. ``status``: on_time, late, early (leaving early), away (outside the
    geofence, ``distance_m`` from it), no_shift (no shift of the team around that time);
    absences are rows of kind ``absent`` (no ``user``: the whole team) written after a shift
    nobody of the team checked in to. ``shift_start`` names the shift a row belongs to."""

    class Kind(models.TextChoices):
        CHECK_IN = "check_in", _("check-in (签到)")
        CHECK_OUT = "check_out", _("check-out (签退)")
        ABSENT = "absent", _("absent (缺勤)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attendance",
    )
    team = models.ForeignKey("gridmap.Team", on_delete=models.CASCADE, related_name="attendance")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField()
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False, null=True, blank=True)
    status = models.CharField(max_length=10, blank=True)
    note = models.CharField(max_length=300, blank=True)
    #: Start of the shift (local time, as an instant) the row belongs to; empty: no shift.
    shift_start = models.DateTimeField(null=True, blank=True)
    #: Distance (m) from the team's base geofence; 0 inside, empty when the team has none.
    distance_m = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["-at"]
        indexes = [models.Index(fields=["team", "at"], name="attendance_team_at")]
        constraints = [
            # The absence sweep may run twice at once: one absence per team and shift.
            models.UniqueConstraint(
                fields=["team", "shift_start"],
                condition=Q(kind="absent"),
                name="attendance_one_absence",
            )
        ]


class Geofence(models.Model):
    """An approved route (a corridor a muck truck must stay on) or a restricted zone (where it
    may not be, at the given hours; all day when no hours are set)."""

    class Kind(models.TextChoices):
        ROUTE = "route", _("approved route")
        RESTRICTED = "restricted", _("restricted zone")
        BASE = "base", _("team base (attendance)")

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    geom = models.MultiPolygonField(srid=STORAGE_SRID, spatial_index=False)
    #: Which vehicles it applies to (a vehicle kind), empty: all.
    vehicle_kind = models.CharField(max_length=20, blank=True)
    vehicles = models.ManyToManyField(Vehicle, blank=True, related_name="geofences")
    team = models.ForeignKey(
        "gridmap.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="geofences"
    )
    #: Restricted hours (local time), e.g. 07:00–08:30 at a school; empty: always.
    active_from = models.TimeField(null=True, blank=True)
    active_to = models.TimeField(null=True, blank=True)
    #: File a case (of this category code) when a vehicle breaks the fence; empty: event only.
    case_category = models.CharField(max_length=12, blank=True)
    #: Approved routes: a fix this close (m) to the corridor still counts as on it (GPS jitter,
    #: a lane's width); empty: ``GRIDMAP_ROUTE_BUFFER_M``. Unused by other kinds.
    buffer_m = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("geofence")
        verbose_name_plural = _("geofences")
        ordering = ["code"]
        indexes = [gist("geofence")]
        constraints = [valid_geometry("geofence")]

    def __str__(self) -> str:
        return self.name or self.code


class GeofenceEvent(models.Model):
    """A vehicle off its approved route or inside a restricted zone at a restricted hour."""

    class Kind(models.TextChoices):
        OFF_ROUTE = "off_route", _("off its approved route")
        RESTRICTED = "restricted", _("inside a restricted zone")

    geofence = models.ForeignKey(Geofence, on_delete=models.CASCADE, related_name="events")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="fence_events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: When the violation ended (the first fix back within the rules); empty: still going on.
    #: One open event per vehicle and fence: a violation raises one event, not one per fix.
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("geofence event")
        verbose_name_plural = _("geofence events")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle", "geofence"],
                condition=Q(ended_at__isnull=True),
                name="geofenceevent_one_open",
            )
        ]
