from django.urls import path

from . import api, api_console, api_field, api_inbox, api_teams

urlpatterns = [
    path("cases", api.CaseListView.as_view(), name="case-list"),
    path("cases/self-disposed", api_field.SelfDisposedView.as_view(), name="case-self-disposed"),
    path("cases/<int:pk>", api.CaseDetailView.as_view(), name="case-detail"),
    path("cases/<int:pk>/evidence", api.CaseEvidenceView.as_view(), name="case-evidence"),
    path("cases/<int:pk>/<slug:transition>", api.TransitionView.as_view(), name="case-transition"),
    path("field/tasks", api_field.FieldTasksView.as_view(), name="field-tasks"),
    path("console/cases", api_console.ConsoleCasesView.as_view(), name="console-cases"),
    path("console/queue", api_console.ConsoleQueueView.as_view(), name="console-queue"),
    path("console/today", api_console.ConsoleTodayView.as_view(), name="console-today"),
    path("console/stream", api_console.console_stream, name="console-stream"),
    path("teams", api_teams.TeamListView.as_view(), name="team-list"),
    path("teams/<str:code>/status", api_teams.TeamStatusView.as_view(), name="team-status"),
    path("approvals", api.ApprovalListView.as_view(), name="approval-list"),
    path(
        "approvals/<int:pk>/approve",
        api.ApprovalDecisionView.as_view(approve=True),
        name="approval-approve",
    ),
    path(
        "approvals/<int:pk>/refuse",
        api.ApprovalDecisionView.as_view(approve=False),
        name="approval-refuse",
    ),
    path("evidence/<int:pk>", api.EvidenceFileView.as_view(), name="evidence-file"),
    path(
        "evidence/<int:pk>/thumbnail",
        api.EvidenceFileView.as_view(thumbnail=True),
        name="evidence-thumbnail",
    ),
    path("notifications", api_inbox.InboxView.as_view(), name="inbox"),
    path("notifications/stream", api_inbox.inbox_stream, name="inbox-stream"),
    path(
        "notifications/read-all",
        api_inbox.MarkReadView.as_view(everything=True),
        name="inbox-read-all",
    ),
    path("notifications/<int:pk>/read", api_inbox.MarkReadView.as_view(), name="inbox-read"),
    path("public/reports", api.PublicReportView.as_view(), name="public-report"),
    path(
        "public/reports/<str:tracking>",
        api.PublicReportStatusView.as_view(),
        name="public-report-status",
    ),
]
