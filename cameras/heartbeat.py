"""Camera heartbeats and offline alerts (掉线告警).

A camera unit proves it is alive with every event it posts and with a plain heartbeat
(``POST /api/v1/cameras/<code>/heartbeat``). A Celery beat sweep marks a camera offline when it
has been silent for ``GRIDMAP_CAMERA_OFFLINE_S`` seconds and raises one alert for it (an inbox
notification to the shift leaders and to the heads of the department named as its owner); the
alert is not repeated while it stays offline, because only the online → offline change raises
it. The next heartbeat brings it back online, with a notice.

A camera never heard from (status ``unknown``, no heartbeat) is not alerted on: an imported
camera without a unit behind it is not a camera that went down. A camera marked ``fault`` by
hand stays so until it is heard from again.
"""

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import notify
from gridmap.models import User

from .models import Camera


def offline_after() -> timedelta:
    """How long a camera may stay silent before it counts as offline."""
    return timedelta(seconds=float(getattr(settings, "GRIDMAP_CAMERA_OFFLINE_S", 600)))


def camera_alert_recipients(camera: Camera) -> list[User]:
    """Who hears that a camera went down or came back: the shift leaders (值班长) and the heads
    of the department whose name is the camera's owner, if any."""
    people = Q(role=User.Role.SHIFT_LEADER)
    if camera.owner:
        people |= Q(role=User.Role.DEPARTMENT_HEAD, department__name=camera.owner)
    return list(User.objects.filter(people, is_active=True))


def camera_mark_alive(camera: Camera, *, at: datetime | None = None) -> bool:
    """Record a sign of life of ``camera`` (locked by the caller, or saved as is): status
    online, ``last_heartbeat_at`` = ``at`` (now by default). Returns True when it was offline
    before (and then tells the same people the offline alert went to)."""
    at = at or timezone.now()
    was_down = camera.status in (Camera.Status.OFFLINE, Camera.Status.FAULT)
    camera.status = Camera.Status.ONLINE
    if camera.last_heartbeat_at is None or at > camera.last_heartbeat_at:
        camera.last_heartbeat_at = at
    camera.save(update_fields=["status", "last_heartbeat_at"])
    if was_down:
        notify.notify(
            camera_alert_recipients(camera),
            kind="camera_online",
            title=_("Camera %(code)s %(name)s is back online")
            % {"code": camera.code, "name": camera.name},
        )
        notify.publish(notify.CONSOLE_CHANNEL, {"type": "camera_status", "online": [camera.code]})
    return was_down


def camera_heartbeat(*, camera_id: int) -> Camera:
    """A heartbeat: the camera is online as of now (its row locked while it changes)."""
    with transaction.atomic():
        camera = Camera.objects.select_for_update().get(pk=camera_id)
        camera_mark_alive(camera)
    return camera


def cameras_mark_offline(*, now: datetime | None = None) -> list[str]:
    """Mark every camera silent for longer than ``offline_after()`` offline and alert once per
    camera; returns their codes.

    The rows are claimed with ``FOR UPDATE SKIP LOCKED`` and changed in the same statement, so
    overlapping sweeps never alert twice and a heartbeat holding a camera's lock wins."""
    now = now or timezone.now()
    cutoff = now - offline_after()
    with transaction.atomic():
        silent = list(
            Camera.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[Camera.Status.ONLINE, Camera.Status.UNKNOWN],
                last_heartbeat_at__lt=cutoff,
            )
            .order_by("code")
            .only("id", "code", "name", "owner", "last_heartbeat_at")
        )
        if not silent:
            return []
        Camera.objects.filter(pk__in=[c.pk for c in silent]).update(status=Camera.Status.OFFLINE)
        recipients: dict[str, list[User]] = {}

        def told(camera: Camera) -> list[User]:
            if camera.owner not in recipients:
                recipients[camera.owner] = camera_alert_recipients(camera)
            return recipients[camera.owner]

        notify.notify_batch(
            notify.Message(
                told(camera),
                kind="camera_offline",
                title=_("Camera %(code)s %(name)s is offline")
                % {"code": camera.code, "name": camera.name},
                body=_("No heartbeat since %(at)s.")
                % {"at": timezone.localtime(camera.last_heartbeat_at).strftime("%Y-%m-%d %H:%M")},
            )
            for camera in silent
        )
        codes = [camera.code for camera in silent]
        notify.publish(notify.CONSOLE_CHANNEL, {"type": "camera_status", "offline": codes})
    return codes


@shared_task(ignore_result=True)
def sweep_camera_heartbeats() -> int:
    """Celery beat: cameras silent too long go offline, with one alert each."""
    return len(cameras_mark_offline())
