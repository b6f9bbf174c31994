"""Today's figures for the big screen (指挥大屏): new, open, overdue and closed cases, the on-time
rates of the 5 / 1 / 10 / 3-minute clocks, the most frequent problems, areas and hours
(高发问题 / 区域 / 时段) and the mix of sources — for what the user may see, in a few SQL
aggregates. "Today" is the local calendar day (``TIME_ZONE``).
"""

from datetime import datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import ExtractHour
from django.utils import timezone

from . import workflow
from .models import Clock
from .selectors import cases_visible_to

#: The clocks of the centre's own promise ("明湖15分钟"): file in 5, dispatch in 1, arrive in
#: 10, video feedback in 3 minutes.
PROMISE_CLOCKS = ("filing", "dispatch", "arrival", "feedback")
TOP = 5


def day_start(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now or timezone.now())
    return timezone.make_aware(datetime.combine(local.date(), time.min), local.tzinfo)


def today_figures(user, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    start = day_start(now)
    visible = cases_visible_to(user)
    today = visible.filter(reported_at__gte=start, reported_at__lt=start + timedelta(days=1))
    open_cases = visible.filter(stage__in=workflow.OPEN_STAGES)
    late = Clock.objects.filter(
        case=OuterRef("pk"), outcome=Clock.Outcome.OPEN, paused_at__isnull=True, due_at__lt=now
    )
    stopped = (
        Clock.objects.filter(case__in=visible, kind__in=PROMISE_CLOCKS, met_at__gte=start)
        .values("kind")
        .annotate(
            met=Count("id", filter=Q(outcome=Clock.Outcome.MET)),
            late=Count("id", filter=Q(outcome=Clock.Outcome.LATE)),
        )
    )
    rates = {kind: None for kind in PROMISE_CLOCKS}
    for row in stopped:
        total = row["met"] + row["late"]
        rates[row["kind"]] = round(row["met"] / total, 4) if total else None
    hours = dict(
        today.annotate(hour=ExtractHour("reported_at", tzinfo=timezone.get_current_timezone()))
        .values_list("hour")
        .annotate(n=Count("id"))
        .values_list("hour", "n")
    )
    return {
        "date": timezone.localtime(now).date().isoformat(),
        "new": today.count(),
        "open": open_cases.count(),
        "overdue": open_cases.filter(Exists(late)).count(),
        "closed": visible.filter(stage=workflow.CLOSED, closed_at__gte=start).count(),
        "on_time": rates,
        "problems": _top(today, "category__minor_name"),
        "areas": _top(today, "community__name"),
        "hours": [hours.get(h, 0) for h in range(24)],
        "sources": dict(
            today.values_list("source").annotate(n=Count("id")).values_list("source", "n")
        ),
    }


def _top(cases, field: str) -> list[dict]:
    rows = (
        cases.exclude(**{f"{field}__isnull": True})
        .values_list(field)
        .annotate(n=Count("id"))
        .order_by("-n", field)[:TOP]
    )
    return [{"name": name, "count": n} for name, n in rows]
