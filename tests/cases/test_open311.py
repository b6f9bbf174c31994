"""Open311 GeoReport v2: services, a service definition, POST a request, GET it back — the same
intake, idempotency and limits as the public report page, in JSON and XML."""

import io
from xml.etree import ElementTree

import pytest
from PIL import Image

from cases.loop import Step, transition_apply
from cases.models import Case
from gridmap.models import User
from tests.factories import CategoryFactory, UserFactory, lonlat, small_district

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def world():
    area = small_district()
    CategoryFactory(
        code="E9901",
        major_name="市容环境",
        minor_name="暴露垃圾",
        public_name="垃圾没人清",
        filing_criterion="垃圾堆放超过1平方米",
    )
    CategoryFactory(code="E9902", major_name="市容环境", minor_name="占道经营", active=False)
    area["operator"] = UserFactory(username="op_li", role=User.Role.OPERATOR)
    return area


def post(client, *, key=None, **fields):
    lon, lat = lonlat(120, 120)
    body = {"service_code": "E9901", "lat": lat, "long": lon, **fields}
    headers = {**ENGLISH, **({"HTTP_IDEMPOTENCY_KEY": key} if key else {})}
    return client.post("/open311/v2/requests.json", body, **headers)


def test_services_list_active_categories_in_plain_words(client, world):
    services = {s["service_code"]: s for s in client.get("/open311/v2/services.json").json()}
    assert "E9902" not in services  # inactive
    assert "C0101" in services  # the shipped taxonomy
    assert [services["E9901"]] == [
        {
            "service_code": "E9901",
            "service_name": "垃圾没人清",
            "description": "垃圾堆放超过1平方米",
            "metadata": False,
            "type": "realtime",
            "keywords": "暴露垃圾",
            "group": "市容环境",
        }
    ]
    xml = ElementTree.fromstring(client.get("/open311/v2/services.xml").content)  # noqa: S314
    assert xml.tag == "services"
    ours = [e for e in xml.findall("service") if e.find("service_code").text == "E9901"]
    assert ours[0].find("service_name").text == "垃圾没人清"
    assert ours[0].find("metadata").text == "false"


def test_a_service_definition_asks_no_attributes_and_unknown_ones_are_404(client, world):
    assert client.get("/open311/v2/services/E9901.json").json() == {
        "service_code": "E9901",
        "attributes": [],
    }
    missing = client.get("/open311/v2/services/E9902.json", **ENGLISH)
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "There is no service 'E9902'."}]
    assert client.get("/open311/v2/services.csv").status_code == 404


def test_a_request_is_taken_and_followed(client, world):
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 60, 60)).save(photo, format="JPEG")
    photo.name = "p.jpg"
    photo.seek(0)
    response = post(
        client,
        description="垃圾",
        address_string="经开第一大街",
        email="a@example.org",
        media=photo,
    )
    assert response.status_code == 201, response.content
    [row] = response.json()
    tracking = row["service_request_id"]
    case = Case.objects.get(tracking=tracking)
    assert (case.source, case.contact_email, case.address) == (
        "public",
        "a@example.org",
        "经开第一大街",
    )
    assert case.evidence.count() == 1
    [detail] = client.get(f"/open311/v2/requests/{tracking}.json").json()
    assert detail["status"] == "open" and detail["service_code"] == "E9901"
    assert detail["media_url"].startswith(f"/report/{tracking}/photos/")
    lon, lat = lonlat(120, 120)
    assert abs(detail["long"] - lon) < 1e-6 and abs(detail["lat"] - lat) < 1e-6
    transition_apply(
        case_id=case.pk, name="file", actor=world["operator"], step=Step(note="内部备注")
    )
    xml = ElementTree.fromstring(  # noqa: S314 - our own answer
        client.get(f"/open311/v2/requests/{tracking}.xml").content
    )
    assert xml.find("request/service_request_id").text == tracking
    assert "内部备注" not in ElementTree.tostring(xml, encoding="unicode")
    assert client.get("/open311/v2/requests/GMNOSUCHCASE.json").status_code == 404


def test_bad_requests_are_named_in_open311_errors(client, world):
    response = client.post("/open311/v2/requests.json", {"service_code": "E9901"}, **ENGLISH)
    assert response.status_code == 400
    descriptions = [e["description"] for e in response.json()]
    assert any(d.startswith("lat:") for d in descriptions)
    assert any(d.startswith("long:") for d in descriptions)
    lon, lat = lonlat(-900, 100)
    outside = post(client, lat=lat, long=lon)
    assert outside.status_code == 422
    assert outside.json()[0]["description"].startswith("location:")
    assert post(client, service_code="E9999").status_code == 422
    bad = io.BytesIO(b"MZ" + b"\0" * 300)
    bad.name = "virus.jpg"
    refused = post(client, media=bad)
    assert refused.status_code == 400 and "virus.jpg" in refused.json()[0]["description"]
    xml = client.post("/open311/v2/requests.xml", {}, **ENGLISH)
    assert xml.status_code == 400
    assert ElementTree.fromstring(xml.content).tag == "errors"  # noqa: S314
    assert Case.objects.count() == 0


def test_a_repeated_request_with_one_key_is_one_case(client, world):
    first = post(client, key="app-1", description="垃圾")
    second = post(client, key="app-1", description="垃圾")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == second.json()[0]["service_request_id"]
    assert Case.objects.count() == 1


def test_requests_are_rate_limited(client, world, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "report": "1/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    assert post(client).status_code == 201
    assert post(client).status_code == 429
