"""Camera events (视频智能告警): intake into cases, deduplication, heartbeats, offline alerts.

Uses the small hand-drawn district of tests/factories.py (two communities side by side, x 0–400,
y 0–300 m). Camera CAM-1 stands at (100, 100) in community 西社区 (410199001001), bound to the
device account ``cam-unit``; CAM-2 at (300, 100) is bound to another unit.
"""

import io
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token

from cameras.events import CameraEventError, camera_event_receive
from cameras.heartbeat import cameras_mark_offline
from cameras.models import Camera, CameraEvent
from cases.models import Case, Evidence, Notification
from gridmap.models import User
from tests.cases import conftest as celery_kit
from tests.factories import CategoryFactory, UserFactory, local_xy, point, small_district

URL = "/api/v1/camera-events"


@pytest.fixture
def world(db):
    area = small_district()
    area["vending"] = CategoryFactory(code="E9903", minor_name="测试无照经营游商")
    area["garbage"] = CategoryFactory(code="E9904", minor_name="测试暴露垃圾")
    area["unit"] = UserFactory(username="cam-unit", role=User.Role.DEVICE)
    area["other_unit"] = UserFactory(username="cam-unit-2", role=User.Role.DEVICE)
    area["shift"] = UserFactory(username="shift", role=User.Role.SHIFT_LEADER)
    area["camera"] = Camera.objects.create(
        code="CAM-1", name="测试路口 东向", geom=point(100, 100), device_user=area["unit"]
    )
    area["camera2"] = Camera.objects.create(
        code="CAM-2", name="测试路口 西向", geom=point(300, 100), device_user=area["other_unit"]
    )
    area["auth"] = token_header(area["unit"])
    return area


def token_header(user) -> dict:
    token, _ = Token.objects.get_or_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Token {token.key}"}


def jpeg(*, noise: bool = False) -> io.BytesIO:
    image = Image.effect_noise((640, 480), 80).convert("RGB") if noise else None
    image = image or Image.new("RGB", (640, 480), (90, 120, 40))
    data = io.BytesIO()
    image.save(data, format="JPEG", quality=95)
    data.seek(0)
    data.name = "snap.jpg"
    return data


def post(client, auth, *, multipart: bool = False, **fields):
    body = {
        "camera": "CAM-1",
        "at": timezone.now().isoformat(),
        "category": "E9903",
        "confidence": 0.91,
        **fields,
    }
    if multipart:
        return client.post(URL, body, **auth)
    return client.post(URL, body, content_type="application/json", **auth)


def nothing_stored(world) -> bool:
    world["camera"].refresh_from_db()
    return (
        not CameraEvent.objects.exists()
        and not Case.objects.exists()
        and world["camera"].status == Camera.Status.UNKNOWN
        and world["camera"].last_heartbeat_at is None
    )


# --- a new problem opens a case ---------------------------------------------------------------


def test_an_event_opens_a_reported_camera_case_at_the_camera_with_the_snapshot(client, world):
    response = post(client, world["auth"], multipart=True, snapshot=jpeg())
    assert response.status_code == 201, response.json()
    receipt = response.json()
    assert receipt["new_case"] is True and receipt["duplicate_of"] is None
    assert response["Location"] == f"/api/v1/cases/{receipt['case']}"

    case = Case.objects.get(pk=receipt["case"])
    assert case.stage == "reported" and case.source == "camera"
    assert case.camera_code == "CAM-1" and case.category.code == "E9903"
    assert case.reporter == world["unit"] and case.community.code == "410199001001"
    case_geom = case.geom.transform(4326, clone=True)
    x, y = local_xy(case_geom.x, case_geom.y)
    assert abs(x - 100) < 0.01 and abs(y - 100) < 0.01, "the case stands at the camera"
    assert "CAM-1" in case.description

    evidence = Evidence.objects.get(case=case)
    assert evidence.media == "photo" and evidence.thumbnail
    event = CameraEvent.objects.get(pk=receipt["event"])
    assert event.case == case and event.confidence == 0.91 and event.detected == "E9903"
    assert event.snapshot.name == evidence.file.name, "the snapshot is stored once"

    world["camera"].refresh_from_db()
    assert world["camera"].status == "online" and world["camera"].last_heartbeat_at is not None

    # The device can read back what it reported (and the snapshot through the evidence URL).
    detail = client.get(response["Location"], **world["auth"])
    assert detail.status_code == 200
    assert detail.json()["properties"]["camera_code"] == "CAM-1"


def test_a_category_may_be_named_instead_of_coded(client, world):
    response = post(client, world["auth"], category="测试暴露垃圾")
    assert response.status_code == 201, response.json()
    assert Case.objects.get().category == world["garbage"]
    assert CameraEvent.objects.get().detected == "测试暴露垃圾"


# --- repeats are deduplicated -----------------------------------------------------------------


def test_repeats_within_the_window_join_the_first_case_and_later_ones_open_a_new_one(
    client, world, settings
):
    settings.GRIDMAP_CAMERA_EVENT_DEDUP_S = 600
    start = timezone.now() - timedelta(hours=1)
    first = post(client, world["auth"], at=start.isoformat())
    assert first.status_code == 201
    case_id = first.json()["case"]

    repeat = post(client, world["auth"], at=(start + timedelta(minutes=5)).isoformat())
    assert repeat.status_code == 200, repeat.json()
    assert repeat.json()["case"] == case_id and repeat.json()["new_case"] is False
    assert repeat.json()["duplicate_of"] == first.json()["event"]
    # Arriving late and out of order, still within the window of the first: the same case.
    late = post(client, world["auth"], at=(start - timedelta(minutes=3)).isoformat())
    assert late.status_code == 200 and late.json()["case"] == case_id

    # Another category from the same camera, or the same category from another camera: new.
    other = post(client, world["auth"], category="E9904", at=start.isoformat())
    assert other.status_code == 201 and other.json()["case"] != case_id
    elsewhere = post(
        client, token_header(world["other_unit"]), camera="CAM-2", at=start.isoformat()
    )
    assert elsewhere.status_code == 201 and elsewhere.json()["case"] != case_id

    # The window slides with the problem: 14 min after the first, 9 after the last repeat.
    still = post(client, world["auth"], at=(start + timedelta(minutes=14)).isoformat())
    assert still.status_code == 200 and still.json()["case"] == case_id
    assert still.json()["duplicate_of"] == first.json()["event"]
    # Half an hour later it is a new problem.
    later = post(client, world["auth"], at=(start + timedelta(minutes=45)).isoformat())
    assert later.status_code == 201 and later.json()["case"] != case_id

    assert Case.objects.filter(camera_code="CAM-1", category__code="E9903").count() == 2
    assert CameraEvent.objects.filter(case_id=case_id).count() == 4


def test_a_repeat_joins_the_case_it_was_merged_into_but_not_a_closed_one(client, world):
    first = post(client, world["auth"]).json()
    target = post(client, world["auth"], category="E9904").json()
    Case.objects.filter(pk=first["case"]).update(stage="merged", merged_into_id=target["case"])
    repeat = post(client, world["auth"])
    assert repeat.status_code == 200 and repeat.json()["case"] == target["case"]

    Case.objects.filter(pk=target["case"]).update(stage="closed")
    again = post(client, world["auth"])
    assert again.status_code == 201, "the problem is back after its case was closed"
    assert again.json()["case"] not in (first["case"], target["case"])
    assert again.json()["duplicate_of"] is None
    follow_up = post(client, world["auth"])
    assert follow_up.status_code == 200 and follow_up.json()["case"] == again.json()["case"]


def test_a_repeat_keeps_its_own_snapshot_without_adding_evidence_to_the_case(client, world):
    first = post(client, world["auth"], multipart=True, snapshot=jpeg())
    repeat = post(client, world["auth"], multipart=True, snapshot=jpeg())
    assert (first.status_code, repeat.status_code) == (201, 200)
    event = CameraEvent.objects.get(pk=repeat.json()["event"])
    assert event.snapshot and event.snapshot.name.endswith(".jpg")
    assert Evidence.objects.filter(case_id=first.json()["case"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_events_at_once_open_one_case():
    """Two database connections (threads) released together: the camera's lock orders them."""
    small_district()
    CategoryFactory(code="E9903", minor_name="测试无照经营游商")
    unit = UserFactory(username="cam-unit", role=User.Role.DEVICE)
    Camera.objects.create(code="CAM-1", geom=point(100, 100), device_user=unit)
    at = timezone.now()
    barrier = threading.Barrier(4)
    results = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(
                camera_event_receive(device=unit, camera_code="CAM-1", at=at, detected="E9903")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4
    assert sum(taken.new_case for taken in results) == 1
    assert Case.objects.count() == 1
    assert {taken.case.pk for taken in results} == {Case.objects.get().pk}
    assert CameraEvent.objects.filter(duplicate_of__isnull=True).count() == 1


# --- who may post ------------------------------------------------------------------------------


def test_bad_or_missing_tokens_are_401(client, world):
    assert post(client, {"HTTP_AUTHORIZATION": "Token not-a-token"}).status_code == 401
    assert post(client, {}).status_code == 401
    assert nothing_stored(world)


def test_a_device_posts_only_for_its_own_cameras(client, world):
    response = post(client, world["auth"], camera="CAM-2")
    assert response.status_code == 403
    assert "CAM-2" in response.json()["detail"]
    operator = UserFactory(username="op", role=User.Role.OPERATOR)
    response = post(client, token_header(operator))
    assert response.status_code == 403 and "device" in response.json()["detail"]
    assert not CameraEvent.objects.exists() and not Case.objects.exists()


def test_an_unknown_camera_is_named(client, world):
    response = post(client, world["auth"], camera="CAM-404")
    assert response.status_code == 422
    assert "CAM-404" in response.json()["camera"][0]
    assert nothing_stored(world)


# --- bad input: 400 (or 422) naming the field, nothing stored ---------------------------------


@pytest.mark.parametrize(
    "fields, status, field",
    [
        ({"category": "E0000-nonsense"}, 422, "category"),
        ({"category": ""}, 400, "category"),
        ({"confidence": 1.5}, 400, "confidence"),
        ({"confidence": -0.1}, 400, "confidence"),
        ({"at": "yesterday-ish"}, 400, "at"),
        ({"camera": ""}, 400, "camera"),
    ],
)
def test_bad_fields_are_refused_by_name(client, world, fields, status, field):
    response = post(client, world["auth"], **fields)
    assert response.status_code == status, response.json()
    assert field in response.json()
    assert nothing_stored(world)


def test_a_time_in_the_future_is_refused(client, world):
    at = timezone.now() + timedelta(hours=2)
    response = post(client, world["auth"], at=at.isoformat())
    assert response.status_code == 400
    assert "future" in response.json()["at"][0]
    assert nothing_stored(world)


def test_a_fake_snapshot_is_refused(client, world):
    fake = io.BytesIO(b"%PDF-1.4\n" + b"0" * 2000)
    fake.name = "snap.jpg"
    response = post(client, world["auth"], multipart=True, snapshot=fake)
    assert response.status_code == 400
    assert "snap.jpg" in response.json()["snapshot"][0]
    assert nothing_stored(world)


def test_an_oversize_snapshot_is_refused(client, world, settings):
    settings.GRIDMAP_MAX_PHOTO_MB = 0.05
    response = post(client, world["auth"], multipart=True, snapshot=jpeg(noise=True))
    assert response.status_code == 400
    assert "MB" in response.json()["snapshot"][0]
    assert nothing_stored(world)


def test_a_camera_outside_the_district_is_refused_and_nothing_is_stored(client, world):
    world["camera"].geom = point(900, 900)
    world["camera"].save()
    response = post(client, world["auth"])
    assert response.status_code == 422
    assert "outside the district" in response.json()["camera"][0]
    assert not CameraEvent.objects.exists() and not Case.objects.exists()


def test_an_ambiguous_name_asks_for_the_code(world):
    CategoryFactory(code="E9905", minor_name="测试暴露垃圾")
    with pytest.raises(CameraEventError) as failure:
        camera_event_receive(
            device=world["unit"], camera_code="CAM-1", at=timezone.now(), detected="测试暴露垃圾"
        )
    assert failure.value.field == "category" and "E9904" in failure.value.message
    assert "E9905" in failure.value.message


# --- heartbeats and offline alerts ------------------------------------------------------------


def test_a_heartbeat_brings_a_camera_online(client, world):
    url = reverse("camera-heartbeat", args=["CAM-1"])
    response = client.post(url, **world["auth"])
    assert response.status_code == 200
    assert response.json()["status"] == "online"
    world["camera"].refresh_from_db()
    assert world["camera"].status == "online"
    assert timezone.now() - world["camera"].last_heartbeat_at < timedelta(seconds=5)

    assert (
        client.post(reverse("camera-heartbeat", args=["CAM-2"]), **world["auth"]).status_code == 403
    )
    missing = client.post(reverse("camera-heartbeat", args=["CAM-404"]), **world["auth"])
    assert missing.status_code == 404 and "CAM-404" in missing.json()["detail"]
    assert client.post(url).status_code == 401


def test_the_sweep_alerts_once_per_camera_and_a_heartbeat_clears_it(client, world):
    hour_ago = timezone.now() - timedelta(hours=1)
    Camera.objects.filter(code="CAM-1").update(status="online", last_heartbeat_at=hour_ago)
    Camera.objects.filter(code="CAM-2").update(status="online", last_heartbeat_at=timezone.now())
    never = Camera.objects.create(code="CAM-3", geom=point(50, 50))  # never heard from

    assert cameras_mark_offline() == ["CAM-1"]
    assert cameras_mark_offline() == [], "no second alert while it stays offline"
    statuses = dict(Camera.objects.values_list("code", "status"))
    assert statuses == {"CAM-1": "offline", "CAM-2": "online", never.code: "unknown"}
    alerts = Notification.objects.filter(kind="camera_offline")
    assert [(n.user.username, "CAM-1" in n.title) for n in alerts] == [("shift", True)]

    response = client.post(reverse("camera-heartbeat", args=["CAM-1"]), **world["auth"])
    assert response.status_code == 200
    assert Camera.objects.get(code="CAM-1").status == "online"
    assert Notification.objects.filter(kind="camera_online", user=world["shift"]).count() == 1


@pytest.fixture
def celery(tmp_path):
    """A real worker and beat (tests/cases/conftest.py's) with a fast camera sweep."""
    broker = celery_kit.Broker(tmp_path)
    broker.start()
    procs = celery_kit.CeleryProcesses(
        broker, tmp_path, {"GRIDMAP_CAMERA_SWEEP_S": "0.5", "GRIDMAP_CAMERA_OFFLINE_S": "3"}
    )
    yield procs
    procs.stop()
    broker.stop()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_beat_marks_a_silent_camera_offline_once(client, celery):
    small_district()
    CategoryFactory(code="E9903", minor_name="测试无照经营游商")
    unit = UserFactory(username="cam-unit", role=User.Role.DEVICE)
    shift = UserFactory(username="shift", role=User.Role.SHIFT_LEADER)
    Camera.objects.create(code="CAM-1", geom=point(100, 100), device_user=unit)
    auth = token_header(unit)
    response = post(client, auth)  # an event is a heartbeat: online now
    assert response.status_code == 201
    assert Camera.objects.get(code="CAM-1").status == "online"

    # Silent for more than 3 s: beat's sweep (every 0.5 s) in the worker takes it offline.
    celery_kit.wait_for(
        lambda: Camera.objects.get(code="CAM-1").status == "offline",
        timeout=45,
        what="the camera going offline",
    )
    alerts = Notification.objects.filter(kind="camera_offline", user=shift)
    assert alerts.count() == 1, celery.output()[-3000:]
    time.sleep(2.5)  # several more sweeps
    assert alerts.count() == 1, "the alert is not repeated while the camera stays offline"

    assert client.post(reverse("camera-heartbeat", args=["CAM-1"]), **auth).status_code == 200
    assert Camera.objects.get(code="CAM-1").status == "online"
    assert Notification.objects.filter(kind="camera_online", user=shift).count() == 1
