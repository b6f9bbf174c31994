"""Admin for the case categories (案件类别) and campaigns (专项整治).

Categories carry their time limits inline; the change list exports the selected (or, from its
buttons, all) categories as YAML, CSV or Excel, and links to the import page (upload, dry-run
report, confirm) — the same service as ``manage.py import_categories`` / ``export_categories``.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.urls import path
from django.utils.translation import gettext_lazy as _

from . import admin_views
from .models import (
    ApprovalRequest,
    Campaign,
    Case,
    CaseEvent,
    Category,
    CategoryTimeLimit,
    Clock,
    Delivery,
    Notification,
    PublicRating,
    ResponsibilityRule,
    TeamStatusChange,
    WorkingDayException,
)
from .taxonomy import FORMATS


class CategoryTimeLimitInline(admin.TabularInline):
    model = CategoryTimeLimit
    extra = 0
    fields = ["condition", "urgent", "value", "unit", "note"]


class MajorClassFilter(admin.SimpleListFilter):
    """Kind and major class together: 市容环境 is a component (C03) and an event (E01) class."""

    title = _("major class")
    parameter_name = "major"

    def lookups(self, request, model_admin):
        rows = Category.objects.values_list("kind", "major_code", "major_name").distinct()
        return [
            (f"{kind}:{code}", f"{'C' if kind == 'component' else 'E'}{code} {name}")
            for kind, code, name in sorted(set(rows))
        ]

    def queryset(self, request, queryset):
        if not self.value() or ":" not in self.value():
            return queryset
        kind, code = self.value().split(":", 1)
        return queryset.filter(kind=kind, major_code=code)


class RemitFilter(admin.SimpleListFilter):
    """One choice per remit tag; a category may carry several (stored comma-separated)."""

    title = _("remit")
    parameter_name = "remit"

    def lookups(self, request, model_admin):
        tags = {
            tag
            for remit in Category.objects.exclude(remit="").values_list("remit", flat=True)
            for tag in remit.split(",")
            if tag
        }
        return [(tag, tag) for tag in sorted(tags)]

    def queryset(self, request, queryset):
        tag = self.value()
        if not tag:
            return queryset
        return queryset.filter(
            Q(remit=tag)
            | Q(remit__startswith=f"{tag},")
            | Q(remit__endswith=f",{tag}")
            | Q(remit__contains=f",{tag},")
        )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "kind",
        "major_name",
        "minor_name",
        "public_name",
        "department",
        "time_limit",
        "remit",
        "active",
    ]
    list_display_links = ["code", "minor_name"]
    list_filter = [
        "kind",
        MajorClassFilter,
        "department",
        RemitFilter,
        "auto_dispatch",
        "active",
    ]
    search_fields = ["code", "major_name", "minor_name", "public_name"]
    list_select_related = ["department"]
    list_per_page = 200
    autocomplete_fields = ["department"]
    inlines = [CategoryTimeLimitInline]
    actions = ["export_yaml", "export_csv", "export_xlsx"]
    fieldsets = [
        (None, {"fields": ["code", "kind", ("major_code", "major_name")]}),
        (None, {"fields": [("minor_code", "minor_name"), "public_name", "component_class"]}),
        (
            _("Standard (立案标准, 结案标准, 责任单位)"),
            {"fields": ["filing_criterion", "closing_criterion", "department"]},
        ),
        (
            _("Duplicates and reporting"),
            {"fields": [("duplicate_radius_m", "duplicate_window_h"), "remit", "active"]},
        ),
        (_("Dispatch"), {"fields": ["auto_dispatch", "clock_minutes"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("time_limits")

    @admin.display(description=_("time limit (处置时限)"))
    def time_limit(self, obj: Category) -> str:
        for limit in obj.time_limits.all():
            if limit.condition == "any" and not limit.urgent:
                return str(limit)
        return "—"

    def _export(self, request, queryset, fmt: str):
        return admin_views.export_response(queryset, fmt)

    @admin.action(description=_("Export the selected categories (YAML)"))
    def export_yaml(self, request, queryset):
        return self._export(request, queryset, "yaml")

    @admin.action(description=_("Export the selected categories (CSV)"))
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    @admin.action(description=_("Export the selected categories (Excel)"))
    def export_xlsx(self, request, queryset):
        return self._export(request, queryset, "xlsx")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="cases_category_import"),
            path("export/<str:fmt>/", wrap(self.export_all_view), name="cases_category_export"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta}
        return admin_views.import_view(request, context=context)

    def export_all_view(self, request, fmt: str):
        if not self.has_view_permission(request) or fmt not in FORMATS:
            raise PermissionDenied
        return admin_views.export_response(self.get_queryset(request), fmt)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "starts_on", "ends_on"]
    search_fields = ["code", "name"]
    date_hierarchy = "starts_on"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the closed loop: visible in the admin, changed only through it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ["at", "kind", "from_stage", "to_stage", "actor", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


class ClockInline(admin.TabularInline):
    model = Clock
    fields = ["kind", "started_at", "due_at", "paused_at", "met_at", "outcome", "escalated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """Cases are reported and moved through the API; the admin shows their whole record."""

    list_display = ["number", "category", "source", "stage", "community", "team", "reported_at"]
    list_filter = ["stage", "source", "urgent", "historical", "community", "department"]
    search_fields = ["number", "tracking", "external_id", "description", "address"]
    date_hierarchy = "reported_at"
    inlines = [CaseEventInline, ClockInline]
    list_select_related = ["category", "community", "team"]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ["case", "kind", "status", "requested_by", "requested_at", "decided_by"]
    list_filter = ["kind", "status"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "user__username"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["notification", "channel", "address", "status", "attempts", "sent_at"]
    list_filter = ["channel", "status"]


@admin.register(WorkingDayException)
class WorkingDayExceptionAdmin(admin.ModelAdmin):
    """A newly announced holiday or adjusted working day, before the calendar package has it."""

    list_display = ["day", "working", "note"]
    list_filter = ["working"]
    date_hierarchy = "day"


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(admin.ModelAdmin):
    """Per-community overrides of who answers for a category (责任划分): its department and the
    only teams that may be sent. Leave the community empty for a district-wide rule of the
    category, the category empty for every category in the community."""

    list_display = ["__str__", "community", "category", "department", "note"]
    list_filter = ["community", "department"]
    autocomplete_fields = ["community", "category", "department"]
    filter_horizontal = ["teams"]
    search_fields = ["category__minor_name", "community__name", "note"]


@admin.register(TeamStatusChange)
class TeamStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "team", "from_status", "to_status", "cause", "case", "actor"]
    list_filter = ["to_status", "cause", "team"]
    date_hierarchy = "at"


@admin.register(PublicRating)
class PublicRatingAdmin(ReadOnlyAdmin):
    """Citizens' ratings of their closed reports (群众满意度), as the evaluation reads them."""

    list_display = ["rated_at", "case", "score", "comment"]
    list_filter = ["score"]
    search_fields = ["case__number", "case__tracking", "comment"]
    date_hierarchy = "rated_at"
