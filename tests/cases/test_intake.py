"""Case intake: every source, geocoding, department, duplicates, evidence, bad input, roles.

Uses the small hand-drawn district of tests/factories.py (two communities side by side; grid
codes 410199001001001 … 410199001002002; frontage zone F1 near (40, 150)).
"""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from cases.models import Case, CaseEvent, Evidence
from gridmap.crs import wgs84_to_gcj02
from gridmap.models import Component, ComponentClass, User
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    RoadFactory,
    UserFactory,
    line,
    local_xy,
    lonlat,
    point,
    small_district,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def district():
    area = small_district()
    area["garbage"] = CategoryFactory(code="E9901", minor_name="暴露垃圾")
    area["lamp"] = CategoryFactory(
        code="C9910",
        kind="component",
        minor_name="路灯",
        component_class=ComponentClass.objects.get(major_code="01", minor_code="10"),
    )
    return area


@pytest.fixture
def inspector(client):
    user = UserFactory(username="insp", role=User.Role.INSPECTOR)
    client.force_login(user)
    return user


class Followed:
    """A POST's status and its short receipt, and the new case's detail as GET answers it."""

    def __init__(self, client, response):
        self.status_code = response.status_code
        self.receipt = response.json()
        self.detail = (
            client.get(response["Location"]).json() if response.status_code == 201 else None
        )

    def json(self):
        return self.detail if self.detail is not None else self.receipt


def report(client, x, y, **extra):
    lon, lat = lonlat(x, y)
    body = {"category": "E9901", "source": "inspector", "lon": lon, "lat": lat, **extra}
    return Followed(
        client, client.post(reverse("case-list"), body, content_type="application/json")
    )


def jpeg(width=640, height=480, colour=(200, 80, 40)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(data, format="JPEG")
    data.seek(0)
    data.name = "photo.jpg"
    return data


def test_an_inspector_report_is_geocoded_and_given_its_department(client, district, inspector):
    response = report(client, 40, 155, description="垃圾堆在路边")
    assert response.status_code == 201, response.receipt
    body = response.json()
    assert body["type"] == "Feature"
    props = body["properties"]
    assert props["stage"] == "reported"
    assert props["community"] == {"code": "410199001001", "name": "西社区"}
    assert props["grid"] == "410199001001001"
    assert {z["code"] for z in props["zones"]} == {"F1", "J1"}
    assert props["department"]["code"] == district["garbage"].department.code
    assert [e["kind"] for e in props["history"]] == ["report"]
    assert props["number"].endswith(str(props["id"]))
    assert props["tracking"].startswith("GM") and len(props["tracking"]) == 12
    x, y = local_xy(*body["geometry"]["coordinates"])
    assert abs(x - 40) < 0.01 and abs(y - 155) < 0.01
    case = Case.objects.get()
    assert case.reporter == inspector and case.source == "inspector"
    assert CaseEvent.objects.get().actor == inspector


def test_a_phone_in_gcj02_reports_where_it_stands(client, district, inspector):
    glon, glat = wgs84_to_gcj02(*lonlat(300, 60))
    response = Followed(
        client,
        client.post(
            reverse("case-list"),
            {
                "category": "E9901",
                "source": "inspector",
                "srs": "gcj02",
                "location": {"type": "Point", "coordinates": [float(glon), float(glat)]},
            },
            content_type="application/json",
        ),
    )
    assert response.status_code == 201, response.receipt
    x, y = local_xy(*response.json()["geometry"]["coordinates"])
    assert abs(x - 300) < 0.5 and abs(y - 60) < 0.5
    assert response.json()["properties"]["community"]["code"] == "410199001002"


def test_a_component_case_goes_to_the_components_owner(client, district, inspector):
    owner = DepartmentFactory(code="D99", name="路灯所")
    Component.objects.create(
        code="4101990110000001",
        component_class=district["lamp"].component_class,
        owner_department=owner,
        geom=point(100, 100),
    )
    near = report(client, 110, 100, category="C9910").json()["properties"]
    assert near["component"]["code"] == "4101990110000001"
    assert near["department"]["code"] == "D99"
    far = report(client, 180, 250, category="C9910").json()["properties"]
    assert far["component"] is None
    assert far["department"]["code"] == district["lamp"].department.code


def test_the_road_a_case_lies_on_sets_main_road_or_back_street(client, district, inspector):
    RoadFactory(code="R1", road_class="primary", geom=line((0, 100), (400, 100)))
    RoadFactory(code="R2", road_class="branch", geom=line((250, 0), (250, 300)))
    assert report(client, 100, 110).json()["properties"]["condition"] == "main_road"
    assert report(client, 255, 250).json()["properties"]["condition"] == "back_street"


def test_a_probable_duplicate_is_flagged(client, district, inspector):
    first = report(client, 100, 100).json()["properties"]["id"]
    second = report(client, 120, 100).json()["properties"]
    assert second["duplicate_of"] == first
    assert report(client, 300, 250).json()["properties"]["duplicate_of"] is None  # far
    other_category = report(client, 100, 100, category="C9910").json()["properties"]
    assert other_category["duplicate_of"] is None
    Case.objects.filter(pk=first).update(stage="closed")
    third = report(client, 101, 100).json()["properties"]
    assert third["duplicate_of"] == second["id"]  # the closed one is no longer a candidate
    old = report(
        client, 300, 250, reported_at=(timezone.now() - timedelta(days=3)).isoformat()
    ).json()["properties"]
    assert report(client, 300, 251).json()["properties"]["duplicate_of"] != old["id"]


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"category": "E9999"}, 422, "category", "Unknown category"),
        ({"x": -100}, 422, "location", "outside the district"),
        ({"reported_at": "2099-01-01T00:00:00+08:00"}, 400, "reported_at", "in the future"),
        ({"lon": None}, 400, "location", "A location is required"),
        ({"srs": "mars2"}, 400, "srs", "unknown srs"),
        ({"source": "camera"}, 400, "camera_code", "names its camera"),
    ],
)
def test_bad_reports_are_refused_naming_the_problem_and_nothing_is_written(
    client, district, body, status, field, words, settings
):
    settings.LANGUAGE_CODE = "en"
    client.force_login(UserFactory(username="op", role=User.Role.OPERATOR))
    x = body.pop("x", 100)
    lon, lat = lonlat(x, 100)
    payload = {"category": "E9901", "source": "hotline", "lon": lon, "lat": lat, **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    response = client.post(
        reverse("case-list"), payload, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == status, response.content
    assert field in response.json()
    assert words in " ".join(response.json()[field])
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_swapped_coordinates_are_spotted(client, district, inspector):
    lon, lat = lonlat(100, 100)
    response = report(client, 0, 0, lon=lat, lat=lon)
    assert response.status_code == 400
    assert "swapped" in " ".join(response.json()["lat"])


def test_a_higher_level_case_keeps_its_external_id_once(client, district):
    client.force_login(UserFactory(username="op", role=User.Role.OPERATOR))
    lon, lat = lonlat(100, 100)
    body = {
        "category": "E9901",
        "source": "higher_level",
        "lon": lon,
        "lat": lat,
        "external_id": "ZZ-2026-0042",
    }
    assert (
        client.post(reverse("case-list"), body, content_type="application/json").status_code == 201
    )
    again = client.post(
        reverse("case-list"), body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert again.status_code == 409
    assert "already reported" in " ".join(again.json()["external_id"])
    missing = client.post(
        reverse("case-list"), {**body, "external_id": ""}, content_type="application/json"
    )
    assert missing.status_code == 400


def test_a_hotline_case_records_the_petitioner_and_campaign(client, district):
    from cases.models import Campaign

    Campaign.objects.create(code="AIR2026", name="大气污染防治专项")
    client.force_login(UserFactory(username="op", role=User.Role.OPERATOR))
    lon, lat = lonlat(100, 100)
    response = Followed(
        client,
        client.post(
            reverse("case-list"),
            {
                "category": "E9901",
                "source": "hotline",
                "lon": lon,
                "lat": lat,
                "petitioner_name": "李女士",
                "petitioner_phone": "13900000000",
                "petitioner_wants_reply": True,
                "campaign": "AIR2026",
                "urgent": True,
            },
            content_type="application/json",
        ),
    )
    props = response.json()["properties"]
    assert props["petitioner"] == {"name": "李女士", "phone": "13900000000", "wants_reply": True}
    assert props["campaign"]["code"] == "AIR2026" and props["urgent"] is True


@pytest.mark.parametrize(
    ("role", "source", "status"),
    [
        (User.Role.FIELD_MEMBER, "hotline", 403),
        (User.Role.FIELD_MEMBER, "public", 403),
        (User.Role.INSPECTOR, "hotline", 403),
        (User.Role.COMMUNITY_LEAD, "hotline", 403),
        (User.Role.DEVICE, "camera", 201),
        (User.Role.DEVICE, "hotline", 403),
    ],
)
def test_roles_report_only_their_sources(client, district, role, source, status):
    client.force_login(UserFactory(username="u", role=role))
    assert report(client, 100, 100, source=source, camera_code="CAM-001").status_code == status


def test_reporting_needs_a_login(client, district):
    assert report(client, 100, 100).status_code == 401


def test_a_device_token_reports_camera_detections(client, district):
    from rest_framework.authtoken.models import Token

    camera = UserFactory(username="cam-unit-7", role=User.Role.DEVICE)
    token = Token.objects.create(user=camera)
    lon, lat = lonlat(100, 100)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    response = client.post(
        reverse("case-list"),
        {
            "category": "E9901",
            "source": "camera",
            "camera_code": "410171-CAM-0007",
            "lon": lon,
            "lat": lat,
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201
    receipt = response.json()
    assert receipt["community"]["code"] == "410199001001" and receipt["stage"] == "reported"
    detail = client.get(response["Location"], **auth).json()["properties"]
    assert detail["camera_code"] == "410171-CAM-0007"


def test_photos_come_with_a_report_and_are_served_after_a_permission_check(
    client, district, inspector
):
    lon, lat = lonlat(40, 155)
    response = Followed(
        client,
        client.post(
            reverse("case-list"),
            {
                "category": "E9901",
                "source": "inspector",
                "lon": lon,
                "lat": lat,
                "files": [jpeg(), jpeg(colour=(10, 200, 10))],
            },
        ),
    )
    assert response.status_code == 201, response.receipt
    evidence = response.json()["properties"]["evidence"]
    assert [e["media"] for e in evidence] == ["photo", "photo"]
    assert all(e["phase"] == "report" for e in evidence)
    report_event = response.json()["properties"]["history"][0]["id"]
    assert all(e["event"] == report_event for e in evidence)
    got = client.get(evidence[0]["url"])
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert b"".join(got.streaming_content)[:2] == b"\xff\xd8"
    thumb = client.get(evidence[0]["thumbnail_url"])
    image = Image.open(io.BytesIO(b"".join(thumb.streaming_content)))
    assert max(image.size) == 320
    other = UserFactory(
        username="lead_east", role=User.Role.COMMUNITY_LEAD, community=district["c2"]
    )
    client.force_login(other)
    assert client.get(evidence[0]["url"]).status_code == 404
    client.logout()
    assert client.get(evidence[0]["url"]).status_code == 401


def test_a_disguised_or_oversize_file_is_refused_and_nothing_is_kept(
    client, district, inspector, settings
):
    media = settings.MEDIA_ROOT / "evidence"
    before = sorted(media.rglob("*.*")) if media.exists() else []
    pdf = io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")
    pdf.name = "photo.jpg"
    lon, lat = lonlat(40, 155)
    response = client.post(
        reverse("case-list"),
        {"category": "E9901", "source": "inspector", "lon": lon, "lat": lat, "files": [pdf]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "photo.jpg: not a photo" in response.json()["files"][0]
    settings.GRIDMAP_MAX_PHOTO_MB = 0.001
    response = Followed(
        client,
        client.post(
            reverse("case-list"),
            {"category": "E9901", "source": "inspector", "lon": lon, "lat": lat, "files": [jpeg()]},
        ),
    )
    assert response.status_code == 400 and "MB" in response.json()["files"][0]
    assert not Case.objects.exists() and not Evidence.objects.exists()
    after = sorted(media.rglob("*.*")) if media.exists() else []
    assert after == before, "no file may be left behind"


def test_evidence_can_follow_a_report(client, district, inspector):
    case_id = report(client, 40, 155).json()["properties"]["id"]
    response = client.post(
        reverse("case-evidence", args=[case_id]), {"files": [jpeg()], "phase": "before"}
    )
    assert response.status_code == 201
    detail = client.get(reverse("case-detail", args=[case_id])).json()["properties"]
    assert [e["phase"] for e in detail["evidence"]] == ["before"]
    assert [e["kind"] for e in detail["history"]] == ["report", "evidence"]


def test_files_written_before_a_failure_are_removed_with_the_transaction(
    district, inspector, settings, monkeypatch
):
    from cases import services
    from cases.evidence import check_upload

    def broken_thumbnail(checked):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "thumbnail", broken_thumbnail)
    media = settings.MEDIA_ROOT / "evidence"
    before = sorted(media.rglob("*.*")) if media.exists() else []
    lon, lat = lonlat(40, 155)
    with pytest.raises(RuntimeError, match="disk full"):
        services.case_report(
            source="inspector",
            category_code="E9901",
            lon=lon,
            lat=lat,
            reporter=inspector,
            checked_files=[check_upload(jpeg())],
        )
    assert not Case.objects.exists() and not Evidence.objects.exists()
    assert (sorted(media.rglob("*.*")) if media.exists() else []) == before


def test_the_one_statement_intake_names_every_column_of_the_models():
    """Intake writes its rows with one prepared statement: a new model field must be added to
    its column lists (cases/services.py), or this fails."""
    from cases import services
    from cases.models import Clock

    def columns(model):
        return {field.column for field in model._meta.concrete_fields}

    assert set(services.CASE_COLUMNS) == columns(Case)
    assert set(services.EVENT_COLUMNS) == columns(CaseEvent) - {"id"}
    assert set(services.CLOCK_COLUMNS) == columns(Clock) - {"id"}
