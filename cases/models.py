"""Cases (案卷): the categories they are filed under, the cases, their events and evidence.

A case is reported from a source (patrol inspector, camera, citizen, hotline, higher-level
assignment, self-disposal), geocoded on intake (subdistrict, community, unit grid, zones, the
nearest matching component for 部件 cases), given a responsible department, and then runs
through the closed loop (cases/workflow.py). Everything that happens to a case is a row of the
append-only ``CaseEvent`` log.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap.models import STORAGE_SRID
from gridmap.models.base import gist, valid_geometry


class Category(models.Model):
    """A case category (案件类别): a component (部件) or event (事件) subclass of the standard.

    ``code`` is the kind's letter and the standard's 2-digit major and minor class:
    ``C0101`` 部件 / 公用设施 / 上水井盖, ``E0102`` 事件 / 市容环境 / 暴露垃圾.
    Each subclass carries the four fields of the published tables: 立案标准
    (``filing_criterion``), 处置时限 (the ``CategoryTimeLimit`` rows), 结案标准
    (``closing_criterion``) and 责任单位 (``department``).
    """

    class Kind(models.TextChoices):
        COMPONENT = "component", _("component (部件)")
        EVENT = "event", _("event (事件)")

    code = models.CharField(max_length=12, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    major_code = models.CharField(max_length=2)
    major_name = models.CharField(max_length=60)
    minor_code = models.CharField(max_length=2)
    minor_name = models.CharField(max_length=60)
    #: Plain words for citizens choosing a category on the public page ("路灯不亮").
    public_name = models.CharField(max_length=100, blank=True)
    filing_criterion = models.TextField(_("filing criterion (立案标准)"), blank=True)
    closing_criterion = models.TextField(_("closing criterion (结案标准)"), blank=True)
    department = models.ForeignKey(
        "gridmap.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="categories",
        verbose_name=_("responsible department (责任单位)"),
    )
    #: For component (部件) categories: the component class a case of this category is about.
    component_class = models.ForeignKey(
        "gridmap.ComponentClass", on_delete=models.SET_NULL, null=True, blank=True
    )
    #: A new case of this category within this radius and window of an open one is flagged as a
    #: probable duplicate of it.
    duplicate_radius_m = models.FloatField(default=50)
    duplicate_window_h = models.FloatField(default=24)
    #: Per-category overrides of the short clocks, in minutes: {"filing": 5, "dispatch": 1,
    #: "arrival": 10, "feedback": 3}; missing kinds use GRIDMAP_CLOCK_MINUTES.
    clock_minutes = models.JSONField(default=dict, blank=True)
    #: Dispatch at once to the recommended team when the case is filed (no dispatcher step).
    auto_dispatch = models.BooleanField(default=False)
    #: Remit tags (e.g. 餐饮油烟治理, 大气污染防治) the Minghu centre reports on.
    remit = models.CharField(max_length=60, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "major_code", "minor_code"], name="category_kind_major_minor"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.major_name}/{self.minor_name}"


class CategoryTimeLimit(models.Model):
    """处置时限: how long disposal may take, by condition (main road, back street…) and urgency.

    Working hours and working days are counted in working time (holidays and adjusted working
    days, the configured working hours); minutes are wall-clock minutes.
    """

    class Unit(models.TextChoices):
        WORKING_HOURS = "working_hours", _("working hours (工作时)")
        WORKING_DAYS = "working_days", _("working days (工作日)")
        MINUTES = "minutes", _("minutes (分钟)")

    class Condition(models.TextChoices):
        ANY = "any", _("any")
        MAIN_ROAD = "main_road", _("main road (主干道)")
        BACK_STREET = "back_street", _("back street (背街小巷)")

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="time_limits")
    condition = models.CharField(max_length=20, choices=Condition.choices, default=Condition.ANY)
    urgent = models.BooleanField(default=False)
    value = models.FloatField()
    unit = models.CharField(max_length=20, choices=Unit.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "condition", "urgent"], name="timelimit_category_condition"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="timelimit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.value:g} {self.get_unit_display()}"


class ResponsibilityRule(models.Model):
    """A per-community override of who answers for a category (configured in the admin).

    In the community (or everywhere, when empty), cases of the category (or of every category,
    when empty) go to this department, and only these teams are eligible for dispatch. The most
    specific rule wins: community and category, then category, then community.
    """

    community = models.ForeignKey(
        "gridmap.Community", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    category = models.ForeignKey(
        "Category", on_delete=models.CASCADE, null=True, blank=True, related_name="rules"
    )
    department = models.ForeignKey(
        "gridmap.Department", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    teams = models.ManyToManyField("gridmap.Team", blank=True, related_name="+")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("responsibility rule")
        verbose_name_plural = _("responsibility rules")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "category"],
                name="responsibilityrule_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.community or '*'} / {self.category or '*'} → {self.department or '…'}"


class Campaign(models.Model):
    """专项整治 — a campaign a case may be tagged with (e.g. 大气污染防治专项)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("campaign (专项整治)")
        verbose_name_plural = _("campaigns")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """案卷 — one problem on the street, from report to closure."""

    class Source(models.TextChoices):
        INSPECTOR = "inspector", _("patrol inspector (监督员上报)")
        CAMERA = "camera", _("camera (视频发现)")
        PUBLIC = "public", _("public report (公众举报)")
        HOTLINE = "hotline", _("hotline (热线)")
        HIGHER_LEVEL = "higher_level", _("higher-level assignment (上级交办)")
        SELF = "self", _("self-disposal (自处理)")
        DEVICE = "device", _("device alert (设备告警: vehicle geofence)")

    class Stage(models.TextChoices):
        REPORTED = "reported", _("reported (发现问题)")
        REGISTERED = "registered", _("registered (受理立案)")
        DISPATCHED = "dispatched", _("dispatched (任务派遣)")
        ON_SCENE = "on_scene", _("on scene (到达现场)")
        HANDLED = "handled", _("handled (处置完成)")
        CLOSED = "closed", _("closed (结案)")
        REJECTED = "rejected", _("rejected (不予立案)")
        VOID = "void", _("void (作废)")
        MERGED = "merged", _("merged (合并)")

    #: Stages after which nothing more happens to a case.
    FINAL_STAGES = ("closed", "rejected", "void", "merged")

    number = models.CharField(_("case number (案卷号)"), max_length=20, unique=True)
    #: What a citizen types to follow the case: random, so that numbers cannot be guessed.
    tracking = models.CharField(max_length=16, unique=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    # Foreign keys that lead the composite indexes below, or that are rarely looked up, have no
    # index of their own: every index costs every report (a case insert maintained twenty).
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.REPORTED)
    urgent = models.BooleanField(_("urgent (转应急)"), default=False)
    condition = models.CharField(
        max_length=20,
        choices=CategoryTimeLimit.Condition.choices,
        default=CategoryTimeLimit.Condition.ANY,
        help_text=_("Where the problem is, for the time limit (main road or back street)."),
    )
    description = models.TextField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False)
    reported_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_cases",
    )
    #: Camera detections name the camera by its code (linked to a Camera by the cameras issue).
    camera_code = models.CharField(max_length=60, blank=True)
    #: The id of the case at the higher-level platform (上级交办) or in an imported archive.
    external_id = models.CharField(max_length=100, blank=True)
    #: 诉求人 — who called the hotline, and whether they want to hear back.
    petitioner_name = models.CharField(max_length=100, blank=True)
    petitioner_phone = models.CharField(max_length=40, blank=True)
    petitioner_wants_reply = models.BooleanField(default=False)
    #: A citizen's address for notifications about their report (optional).
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        db_index=False,
    )
    # Geocoded on intake.
    subdistrict = models.ForeignKey(
        "gridmap.Subdistrict", on_delete=models.PROTECT, null=True, related_name="cases"
    )
    community = models.ForeignKey(
        "gridmap.Community",
        on_delete=models.PROTECT,
        null=True,
        related_name="cases",
        db_index=False,
    )
    grid = models.ForeignKey(
        "gridmap.UnitGrid", on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    zones = models.ManyToManyField("gridmap.ResponsibilityZone", blank=True, related_name="cases")
    component = models.ForeignKey(
        "gridmap.Component",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        db_index=False,
    )
    department = models.ForeignKey(
        "gridmap.Department", on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    team = models.ForeignKey(
        "gridmap.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    #: Set on intake when an open case of the same category is near in space and time.
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="probable_duplicates",
        db_index=False,
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_cases",
        db_index=False,
    )
    #: The patrol inspector (监督员) who is to verify the disposal on site (核查).
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verification_tasks",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    #: Set while the case is suspended (挂账): all its open clocks are paused.
    suspended_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    #: Imported from an archive (import_cases), not reported live.
    historical = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at"]
        indexes = [
            gist("case"),
            models.Index(fields=["stage", "reported_at"], name="case_stage_reported"),
            models.Index(fields=["category", "reported_at"], name="case_category_reported"),
            models.Index(fields=["community", "reported_at"], name="case_community_reported"),
            models.Index(fields=["source", "external_id"], name="case_source_external"),
            # Period-bounded reads of the evaluation (考核): cases reported or closed in it.
            models.Index(fields=["reported_at"], name="case_reported_at"),
            models.Index(
                fields=["closed_at"], name="case_closed_at", condition=Q(closed_at__isnull=False)
            ),
            # The missed-report rule (漏报) looks for an inspector's report of the same category
            # nearby shortly before: read from the index alone.
            models.Index(
                fields=["category", "reported_at"],
                include=["geom"],
                name="case_inspector_reports",
                condition=Q(source="inspector"),
            ),
        ]
        constraints = [
            valid_geometry("case"),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="case_external_id_unique_per_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.category.minor_name if self.category_id else ''}"

    @property
    def is_open(self) -> bool:
        return self.stage not in self.FINAL_STAGES


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes: the event log is append-only."""

    def update(self, **kwargs):
        raise PermissionError("case events are append-only: they cannot be updated")

    def delete(self):
        raise PermissionError("case events are append-only: they cannot be deleted")


class CaseEvent(models.Model):
    """One thing that happened to a case: a transition, an upload, a note. Append-only.

    The ORM refuses updates and deletes (``save`` of an existing row, ``delete``, queryset
    ``update``/``delete``), and a trigger in the database refuses them whatever the caller.
    """

    # Looked up by case through the (case, at) index; by actor only in rare audits.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", db_index=False)
    kind = models.CharField(max_length=30, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    at = models.DateTimeField(db_index=True)
    from_stage = models.CharField(max_length=20, blank=True)
    to_stage = models.CharField(max_length=20, blank=True)
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False, null=True, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    #: A client's key for "this submission": the same key twice on a case is refused (409), so a
    #: double tap on a phone does not record a transition twice.
    idempotency_key = models.CharField(max_length=80, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["case", "at"], name="caseevent_case_at"),
            # Reworked cases (返工: a verification sent the case back), for the evaluation.
            models.Index(
                fields=["case"],
                name="caseevent_rework",
                condition=Q(kind="verify", to_stage="dispatched"),
            ),
        ]
        constraints = [
            valid_geometry("caseevent"),
            models.UniqueConstraint(
                fields=["case", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="caseevent_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError("case events are append-only: they cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("case events are append-only: they cannot be deleted")


def evidence_path(instance: "Evidence", filename: str) -> str:
    # The stored name is ours (the sniffed type's extension); the uploaded name is kept apart.
    return f"evidence/{instance.case_id}/{instance.sha256[:16]}{instance.extension}"


def thumbnail_path(instance: "Evidence", filename: str) -> str:
    return f"evidence/{instance.case_id}/{instance.sha256[:16]}.thumb.jpg"


class Evidence(models.Model):
    """A photo or video of a case, with the event it came with, tagged before / after disposal."""

    class Media(models.TextChoices):
        PHOTO = "photo", _("photo")
        VIDEO = "video", _("video")

    class Phase(models.TextChoices):
        REPORT = "report", _("at the report")
        BEFORE = "before", _("before disposal (处置前)")
        AFTER = "after", _("after disposal (处置后)")
        OTHER = "other", _("other")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence")
    event = models.ForeignKey(
        CaseEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    media = models.CharField(max_length=10, choices=Media.choices)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.REPORT)
    file = models.FileField(upload_to=evidence_path, max_length=200)
    thumbnail = models.FileField(upload_to=thumbnail_path, max_length=200, blank=True)
    content_type = models.CharField(max_length=60)
    extension = models.CharField(max_length=10)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_media_display()} {self.original_name or self.pk}"


class Clock(models.Model):
    """One deadline of a case, as a row (so that evaluation reads outcomes, never recomputes).

    Kinds and defaults: ``filing`` 5 min, ``dispatch`` 1 min, ``arrival`` 10 min, ``feedback``
    3 min (wall clock; ``GRIDMAP_CLOCK_MINUTES``, per category ``Category.clock_minutes``);
    ``disposal`` by the category's limit and ``verification`` (1 working hour by default) in
    working time. ``limit_value``/``limit_unit`` keep the limit so that a pause can be resumed
    exactly; ``due_at`` moves with pauses and extensions. ``outcome``: open, met (stopped in
    time), late (stopped after ``due_at``), cancelled (the case went another way).
    """

    class Kind(models.TextChoices):
        FILING = "filing", _("filing (立案)")
        DISPATCH = "dispatch", _("dispatch (派遣)")
        ARRIVAL = "arrival", _("arrival (到场)")
        FEEDBACK = "feedback", _("video feedback (反馈)")
        DISPOSAL = "disposal", _("disposal (处置)")
        VERIFICATION = "verification", _("verification (核查)")

    class Outcome(models.TextChoices):
        OPEN = "open", _("running")
        MET = "met", _("met in time")
        LATE = "late", _("late")
        CANCELLED = "cancelled", _("cancelled")

    # Looked up by case through the (case, kind) index.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clocks", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    limit_value = models.FloatField()
    limit_unit = models.CharField(max_length=20, choices=CategoryTimeLimit.Unit.choices)
    #: While paused (挂账): when the pause began. ``paused_s`` adds up finished pauses.
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_s = models.FloatField(default=0)
    extended_s = models.FloatField(default=0)
    met_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OPEN)
    #: When stopped (met or late): how long it ran, in whole seconds of its own measure (wall
    #: clock for minute limits, working time otherwise) less its pauses. Written once, as the
    #: outcome is, so that evaluation reads durations instead of recomputing working time.
    duration_s = models.IntegerField(null=True, blank=True)
    #: The case's own units, copied by database triggers (cases migration 0011) when the clock
    #: is written and whenever the case's department, team, community, subdistrict or campaign
    #: changes: the evaluation groups clocks by unit without joining a million cases.
    unit_department_id = models.BigIntegerField(null=True, blank=True, editable=False)
    unit_team_id = models.BigIntegerField(null=True, blank=True, editable=False)
    unit_community_id = models.BigIntegerField(null=True, blank=True, editable=False)
    unit_subdistrict_id = models.BigIntegerField(null=True, blank=True, editable=False)
    unit_campaign_id = models.BigIntegerField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("clock")
        verbose_name_plural = _("clocks")
        ordering = ["started_at", "id"]
        indexes = [
            # The escalation sweep: running, unpaused, not yet escalated clocks by due time.
            models.Index(
                fields=["due_at"],
                name="clock_due_sweep",
                condition=Q(outcome="open", escalated_at__isnull=True, paused_at__isnull=True),
            ),
            models.Index(fields=["case", "kind"], name="clock_case_kind"),
            # The evaluation (考核) reads the clocks that stopped in a period, and the running
            # ones that fell due in it.
            models.Index(
                fields=["met_at"], name="clock_stopped_at", condition=Q(outcome__in=["met", "late"])
            ),
            models.Index(fields=["due_at"], name="clock_open_due", condition=Q(outcome="open")),
            models.Index(
                fields=["case"],
                name="clock_late_disposal",
                condition=Q(kind="disposal", outcome="late"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} due {self.due_at:%Y-%m-%d %H:%M}"


class ApprovalRequest(models.Model):
    """A step that needs someone's approval: extension (延时), suspension (挂账), void (作废) by the
    shift leader, a return (回退) by the dispatcher. Request and decision are both events."""

    class Kind(models.TextChoices):
        EXTEND = "extend", _("extension (延时)")
        SUSPEND = "suspend", _("suspension (挂账)")
        RESUME = "resume", _("resumption")
        VOID = "void", _("void (作废)")
        RETURN = "return", _("return (回退)")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="approvals")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-requested_at"]
        constraints = [
            # One pending request of a kind per case: a second one is a double submission.
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.case_id} ({self.status})"


class Supervision(models.Model):
    """督办 — a leader's flag on a case with a note; the responsible unit must reply."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervisions")
    note = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    reply = models.TextField(blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("supervision (督办)")
        verbose_name_plural = _("supervisions")
        ordering = ["-requested_at"]


class WorkingDayException(models.Model):
    """A day the calendar package has wrong or does not know yet (a newly announced holiday or
    adjusted working day): ``working`` says whether it is a working day."""

    day = models.DateField(unique=True)
    working = models.BooleanField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("working-day exception")
        verbose_name_plural = _("working-day exceptions")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'working' if self.working else 'day off'}"


class TeamStatusChange(models.Model):
    """One change of a field team's status (available, responding, on scene, returning, off
    duty), and what caused it: a step of a case, the on-duty sweep, or a person."""

    team = models.ForeignKey("gridmap.Team", on_delete=models.CASCADE, related_name="+")
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    at = models.DateTimeField()
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    #: What caused it: a transition name (dispatch, arrive, handle…), "manual", "on_duty",
    #: "off_duty", "returned" (back from a job after GRIDMAP_RETURNING_MINUTES).
    cause = models.CharField(max_length=30)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("team status change")
        verbose_name_plural = _("team status changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["team", "at"], name="teamstatus_team_at")]


class Notification(models.Model):
    """A message to a user's in-app inbox, or (``user`` empty) only to an outside address such as
    a frontage holder's phone. ``Delivery`` rows carry it through the outbound channels."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=30)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            )
        ]


class Delivery(models.Model):
    """One notification through one outbound channel (e-mail, SMS gateway, webhook)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=20)
    address = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_pending",
                condition=Q(status="pending"),
            )
        ]


class PublicReportKey(models.Model):
    """The page's key for one submission of the public report form (群众上报): the same key
    again within a few minutes answers the case it already made, so a double tap or a retry
    after a dropped connection files one case, not two. ``fingerprint`` (a hash of what was
    reported) tells a retry from a different report that reuses a key."""

    key = models.CharField(max_length=80, unique=True)
    fingerprint = models.CharField(max_length=64)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("public report key")
        verbose_name_plural = _("public report keys")


class PublicRating(models.Model):
    """A citizen's rating of how their closed report was handled (群众满意度, an evaluation
    indicator): 1–5 and a comment, once per case."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="public_rating")
    score = models.PositiveSmallIntegerField(_("score (1–5)"))
    comment = models.TextField(_("comment"), blank=True)
    rated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("public rating")
        verbose_name_plural = _("public ratings")
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="publicrating_score_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.score}"
