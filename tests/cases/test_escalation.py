"""Escalation and delivery by a real Celery worker and beat (not by calling the sweep).

The clocks here are made short (a few seconds) through the settings the intake reads; the worker
and beat are separate processes with a Redis of their own (tests/cases/conftest.py).
"""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.loop import clocks_escalate_due
from cases.models import CaseEvent, Clock, Delivery, Notification
from cases.notify import notify
from gridmap.models import User
from tests.cases.conftest import wait_for
from tests.factories import CategoryFactory, UserFactory, lonlat, small_district

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def district(settings):
    area = small_district()
    CategoryFactory(code="E9901", minor_name="暴露垃圾")
    settings.GRIDMAP_CLOCK_MINUTES = {**settings.GRIDMAP_CLOCK_MINUTES, "filing": 3 / 60}
    area["office_head"] = UserFactory(username="head", role=User.Role.OFFICE_HEAD)
    area["shift"] = UserFactory(username="shift", role=User.Role.SHIFT_LEADER)
    return area


def escalations(case_id: int) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case_id=case_id, kind="escalate"))


def test_an_overdue_clock_escalates_exactly_once_even_with_redis_down_during_intake(
    client, district, broker, celery_factory
):
    celery = celery_factory()
    broker.stop()  # Redis goes down before the report comes in
    client.force_login(UserFactory(username="op", role=User.Role.OPERATOR))
    lon, lat = lonlat(50, 50)
    started = time.monotonic()
    response = client.post(
        reverse("case-list"),
        {"category": "E9901", "source": "hotline", "lon": lon, "lat": lat},
        content_type="application/json",
    )
    assert response.status_code == 201, "intake must not need Redis"
    assert time.monotonic() - started < 3, "intake must not wait for Redis"
    case_id = response.json()["id"]
    clock = Clock.objects.get(case_id=case_id, kind="filing")
    time.sleep(max(0.0, (clock.due_at - timezone.now()).total_seconds()) + 1.5)
    assert escalations(case_id) == [], "nothing can escalate while the broker is down"

    broker.start()  # Redis is back: beat and the worker reconnect and the sweep catches up
    wait_for(lambda: escalations(case_id), timeout=45, what="the escalation after Redis came back")
    time.sleep(2.5)  # several more sweeps
    events = escalations(case_id)
    assert len(events) == 1, celery.output()[-3000:]
    assert events[0].data["clock_kind"] == "filing"
    clock.refresh_from_db()
    assert clock.escalated_at is not None and clock.outcome == "open"
    notified = Notification.objects.filter(case_id=case_id, kind="escalation")
    assert {n.user.username for n in notified} >= {"head", "shift"}


def test_the_sweep_claims_each_clock_once_even_when_sweeps_overlap(district):
    lon, lat = lonlat(60, 60)
    from cases.services import case_report

    cases = [
        case_report(
            source="hotline",
            category_code="E9901",
            lon=lon,
            lat=lat,
            reported_at=timezone.now() - timedelta(minutes=10),
        )
        for _ in range(5)
    ]
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def sweep():
        try:
            return clocks_escalate_due()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(lambda _: sweep(), range(4)))
    assert sum(counts) == 5
    for case in cases:
        assert len(escalations(case.pk)) == 1


def test_notifications_go_out_by_email_and_webhook_through_the_worker(
    district, celery_factory, smtp_sink, webhook, settings
):
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    settings.GRIDMAP_WEBHOOK_URL = webhook.url
    settings.GRIDMAP_WEBHOOK_SECRET = "s3cret"
    celery = celery_factory(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_sink.port),
        GRIDMAP_WEBHOOK_URL=webhook.url,
        GRIDMAP_WEBHOOK_SECRET="s3cret",
    )
    user = UserFactory(username="lead", role=User.Role.TEAM_LEADER, email="lead@example.org")
    from django.db import transaction

    with transaction.atomic():
        notify([user], kind="test", title="案件 123 已超时", body="请尽快处理")
    try:
        wait_for(
            lambda: smtp_sink.messages and webhook.requests,
            timeout=30,
            what="e-mail and webhook delivery",
        )
    except AssertionError:
        print(list(Delivery.objects.values()), celery.output()[-4000:])
        raise
    message = smtp_sink.messages[0]
    assert message.rcpt_tos == ["lead@example.org"]
    assert "=?utf-8?" in message.content.decode() or "案件" in message.content.decode()
    headers, body = webhook.requests[0]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Gridmap-Signature"] == f"sha256={expected}"
    assert json.loads(body)["title"] == "案件 123 已超时"
    wait_for(
        lambda: Delivery.objects.filter(status="sent").count() == 2,
        timeout=10,
        what="both deliveries marked sent",
    )
