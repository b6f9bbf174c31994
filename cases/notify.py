"""Notifications: the in-app inbox, live pushes through Redis, and outbound channels.

A notification is a row (the database is the truth). Live pages hear of it through Redis pub/sub
(``gridmap:user:<id>`` and the console's ``gridmap:console``), published after the transaction
commits and only as a courtesy: if Redis is down nothing is lost, the inbox has it. Outbound
channels — e-mail, an SMS gateway, a webhook, each on when configured — get one ``Delivery`` row
per notification and address, sent by the Celery sweep ``deliver_notifications`` with retries.
"""

import hashlib
import hmac
import json
import logging
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gridmap.models import ResponsibilityZone, User

from .models import Case, Delivery, Notification

log = logging.getLogger(__name__)
CONSOLE_CHANNEL = "gridmap:console"
MAX_ATTEMPTS = 6


def user_channel(user_id: int) -> str:
    return f"gridmap:user:{user_id}"


_redis = None


def _redis_client():
    global _redis  # one client (with its connection pool) per process
    if _redis is None:
        _redis = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=2
        )
    return _redis


def publish(channel: str, payload: dict) -> None:
    """Publish to live pages after the current transaction commits; never fails the caller."""
    publish_many([(channel, payload)])


def publish_many(items: list[tuple[str, dict]]) -> None:
    """Several publications in one Redis round trip (a pipeline), after the commit."""
    if not items:
        return

    def send():
        try:
            pipe = _redis_client().pipeline(transaction=False)
            for channel, payload in items:
                pipe.publish(channel, json.dumps(payload, default=str))
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("%d live update(s) not published (Redis: %s)", len(items), exc)

    transaction.on_commit(send)


def enabled_channels() -> list[str]:
    channels = []
    if settings.EMAIL_HOST:
        channels.append("email")
    if settings.GRIDMAP_SMS_URL:
        channels.append("sms")
    if settings.GRIDMAP_WEBHOOK_URL:
        channels.append("webhook")
    return channels


@dataclass
class Message:
    """One notification to send: to ``users`` (inbox) and ``phones`` (SMS only)."""

    users: Iterable[User]
    kind: str
    title: str
    body: str = ""
    case: Case | None = None
    phones: Iterable[str] = ()


def notify(
    users: Iterable[User],
    *,
    kind: str,
    title: str,
    body: str = "",
    case: Case | None = None,
    phones: Iterable[str] = (),
) -> list[Notification]:
    """Inbox notifications to ``users`` (each once) and SMS-only ones to ``phones`` (people
    without an account, e.g. a frontage holder), with their outbound deliveries."""
    return notify_batch([Message(users, kind, title, body, case, phones)])


def notify_batch(messages: Iterable[Message]) -> list[Notification]:
    """Many notifications in two inserts (the escalation sweep sends thousands at once)."""
    now = timezone.now()
    channels = enabled_channels()
    rows: list[tuple[Notification, User | None, str | None]] = []
    for message in messages:
        unique = {u.pk: u for u in message.users if u is not None and u.is_active}
        base = {
            "case": message.case,
            "kind": message.kind,
            "title": message.title,
            "body": message.body,
            "created_at": now,
        }
        rows += [(Notification(user=u, **base), u, None) for u in unique.values()]
        if "sms" in channels:
            rows += [(Notification(user=None, **base), None, p) for p in message.phones if p]
    notes = Notification.objects.bulk_create([note for note, _, _ in rows])
    deliveries = []
    for note, (_, user, phone) in zip(notes, rows, strict=True):
        addresses = []
        if user is not None:
            if "email" in channels and user.email:
                addresses.append(("email", user.email))
            if "sms" in channels and user.phone:
                addresses.append(("sms", user.phone))
        else:
            addresses.append(("sms", phone))
        if "webhook" in channels:
            addresses.append(("webhook", settings.GRIDMAP_WEBHOOK_URL))
        deliveries += [
            Delivery(notification=note, channel=channel, address=address, next_attempt_at=now)
            for channel, address in addresses
        ]
    Delivery.objects.bulk_create(deliveries)
    publish_many([(user_channel(n.user_id), _live(n)) for n in notes if n.user_id is not None])
    return notes


def _live(note: Notification) -> dict:
    return {
        "type": "notification",
        "id": note.pk,
        "kind": note.kind,
        "title": note.title,
        "body": note.body,
        "case": note.case_id,
        "created_at": note.created_at.isoformat(),
    }


def escalation_chain(case: Case, *, memo: dict | None = None) -> list[User]:
    """Who hears of an overdue clock: the team leader, the department head, the community's
    subcontract leader and the office head; before dispatch, the shift leaders.

    ``memo`` caches the answer per (team, department, community) within one sweep."""
    key = (case.team_id, case.department_id, case.community_id)
    if memo is not None and key in memo:
        return memo[key]
    people = Q(role=User.Role.OFFICE_HEAD)
    if case.team_id:
        people |= Q(role=User.Role.TEAM_LEADER, team_id=case.team_id)
    else:
        people |= Q(role=User.Role.SHIFT_LEADER)
    if case.department_id:
        people |= Q(role=User.Role.DEPARTMENT_HEAD, department_id=case.department_id)
    subcontract = ResponsibilityZone.objects.filter(
        kind="subcontract", cases=case, responsible_user__isnull=False
    ).values_list("responsible_user_id", flat=True)
    people |= Q(pk__in=list(subcontract))
    if case.community_id:
        people |= Q(led_communities=case.community_id)
    found = list(User.objects.filter(people, is_active=True).distinct())
    if memo is not None:
        memo[key] = found
    return found


def frontage_holders(case: Case) -> tuple[list[User], list[str]]:
    """Frontage zones (门前五包) the case lies in: holders with accounts, and phone numbers."""
    zones = list(case.zones.filter(kind="frontage").select_related("responsible_user"))
    users = [z.responsible_user for z in zones if z.responsible_user_id]
    phones = [z.contact for z in zones if not z.responsible_user_id and z.contact]
    return users, phones


# --- outbound channels ------------------------------------------------------------------------


class ChannelError(Exception):
    pass


def _post_json(url: str, payload: dict, headers: dict) -> None:
    data = json.dumps(payload, ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is the deployment's own setting
        url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status >= 300:
                raise ChannelError(f"HTTP {response.status}")
    except OSError as exc:
        raise ChannelError(str(exc)) from exc


def send_email(delivery: Delivery) -> None:
    note = delivery.notification
    try:
        EmailMessage(subject=note.title, body=note.body or note.title, to=[delivery.address]).send(
            fail_silently=False
        )
    except OSError as exc:
        raise ChannelError(str(exc)) from exc


def send_sms(delivery: Delivery) -> None:
    note = delivery.notification
    headers = (
        {"Authorization": f"Bearer {settings.GRIDMAP_SMS_TOKEN}"}
        if (settings.GRIDMAP_SMS_TOKEN)
        else {}
    )
    _post_json(settings.GRIDMAP_SMS_URL, {"to": delivery.address, "text": note.title}, headers)


def send_webhook(delivery: Delivery) -> None:
    note = delivery.notification
    payload = {**_live(note), "user": note.user.username if note.user_id else None}
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    headers = {}
    if settings.GRIDMAP_WEBHOOK_SECRET:
        signature = hmac.new(settings.GRIDMAP_WEBHOOK_SECRET.encode(), body, hashlib.sha256)
        headers["X-Gridmap-Signature"] = f"sha256={signature.hexdigest()}"
    _post_json(delivery.address, payload, headers)


SENDERS = {"email": send_email, "sms": send_sms, "webhook": send_webhook}


LEASE = timedelta(minutes=5)


def deliveries_send(*, limit: int = 200) -> int:
    """Send due deliveries; returns how many went out.

    Claiming and sending are apart: a short transaction claims due rows (``SKIP LOCKED``, so
    concurrent workers never take the same one) by pushing their next attempt a lease ahead;
    the sending happens outside any transaction (a slow mail server holds no lock); each result
    is written back on its own. A worker that dies mid-send leaves the lease to expire and the
    delivery is tried again. Failures back off and stop after MAX_ATTEMPTS.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status="pending", next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        for delivery in claimed:
            delivery.attempts += 1
            delivery.next_attempt_at = now + LEASE
        Delivery.objects.bulk_update(claimed, ["attempts", "next_attempt_at"])
    sent = 0
    for delivery in Delivery.objects.filter(pk__in=[d.pk for d in claimed]).select_related(
        "notification__user"
    ):
        try:
            SENDERS[delivery.channel](delivery)
        except ChannelError as exc:
            delivery.last_error = str(exc)[:1000]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = Delivery.Status.FAILED
            else:
                delivery.next_attempt_at = timezone.now() + timedelta(
                    seconds=30 * 2**delivery.attempts
                )
        else:
            delivery.status = Delivery.Status.SENT
            delivery.sent_at = timezone.now()
            sent += 1
        delivery.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at"])
    return sent
