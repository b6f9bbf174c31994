"""Departments, teams and users (with a role and a geographic scope)."""

from django.contrib.auth.models import AbstractUser
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from .base import STORAGE_SRID, CodedFeature, gist, valid_geometry


class Department(CodedFeature):
    """部门 — a responsible department (市政办, 人居办, 综治办, 安全办, 食药监…)."""

    class Meta(CodedFeature.Meta):
        verbose_name = _("department")
        verbose_name_plural = _("departments")


class Team(CodedFeature):
    """执行队伍 — a field team with its jurisdiction zones, status and live position (AVL).

    ``base_geom`` is where the team is stationed; ``position_geom`` its latest GPS fix
    (``position_at``), which dispatch uses when it is fresh.
    """

    class Kind(models.TextChoices):
        PERSUASION = "persuasion", _("city-appearance persuasion team (市容劝导队)")
        CLEANING = "cleaning", _("frontage cleaning team (门前五包保洁队)")
        FIRE_PATROL = "fire_patrol", _("fire patrol squad (巡消防中队)")
        FOOD_SAFETY = "food_safety", _("food and drug supervision team (食药监管队)")
        ENFORCEMENT = "enforcement", _("law-enforcement squad (执法中队)")
        MAINTENANCE = "maintenance", _("municipal maintenance team (市政养护队)")

    class Status(models.TextChoices):
        AVAILABLE = "available", _("available")
        RESPONDING = "responding", _("responding")
        ON_SCENE = "on_scene", _("on scene")
        RETURNING = "returning", _("returning")
        OFF_DUTY = "off_duty", _("off duty")

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="teams")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AVAILABLE)
    jurisdictions = models.ManyToManyField(
        "gridmap.ResponsibilityZone",
        blank=True,
        related_name="teams",
        limit_choices_to={"kind": "jurisdiction"},
    )
    base_geom = models.PointField(srid=STORAGE_SRID, spatial_index=False, null=True, blank=True)
    position_geom = models.PointField(srid=STORAGE_SRID, spatial_index=False, null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)

    class Meta(CodedFeature.Meta):
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        indexes = [gist("team", "base_geom"), gist("team", "position_geom")]
        constraints = [valid_geometry("team", "base_geom"), valid_geometry("team", "position_geom")]


class User(AbstractUser):
    """A user with one role and a geographic scope.

    The scope is the narrowest of ``community`` (a community lead sees only that community),
    ``subdistrict``, ``team`` / ``department`` (field members, team leaders, department heads);
    none of them means the whole district (centre staff, office head, planners).
    """

    class Role(models.TextChoices):
        COMMANDER = "commander", _("commander (指挥长)")
        DISPATCHER = "dispatcher", _("dispatcher (派遣员)")
        OPERATOR = "operator", _("operator (受理员)")
        SHIFT_LEADER = "shift_leader", _("shift leader (值班长)")
        FIELD_MEMBER = "field_member", _("field team member (执行小组)")
        TEAM_LEADER = "team_leader", _("team leader (队长)")
        INSPECTOR = "inspector", _("patrol inspector (监督员)")
        COMMUNITY_LEAD = "community_lead", _("community lead (社区负责人)")
        DEPARTMENT_HEAD = "department_head", _("department head (部门负责人)")
        OFFICE_HEAD = "office_head", _("office head (办事处主任)")
        PLANNER = "planner", _("planner (规划)")
        EVALUATOR = "evaluator", _("evaluator (考核)")
        ADMIN = "admin", _("administrator")
        DEVICE = "device", _("device (设备: camera, 4G unit)")

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OPERATOR)
    phone = models.CharField(max_length=30, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    subdistrict = models.ForeignKey(
        "gridmap.Subdistrict",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("subdistrict scope"),
    )
    community = models.ForeignKey(
        "gridmap.Community",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("community scope"),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    @property
    def has_district_scope(self) -> bool:
        return self.community_id is None and self.subdistrict_id is None
