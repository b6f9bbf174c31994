"""Pages of the backbone: login redirect, health check, language (Chinese first)."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory, lonlat, small_district

pytestmark = pytest.mark.django_db


def test_home_sends_a_visitor_to_the_login_page(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_home_sends_each_role_to_its_page(client):
    client.force_login(UserFactory(role="field_member"))
    assert client.get(reverse("home"))["Location"] == reverse("field-page")
    client.force_login(UserFactory(role="dispatcher"))
    assert client.get(reverse("home"))["Location"] == reverse("console-page")


def test_healthz_checks_the_database(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_pages_speak_chinese_first_whatever_the_browser_asks(client):
    client.force_login(UserFactory(first_name="王伟"))
    page = client.get(reverse("map"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "辖区地图" in page and "退出" in page and "指挥长" in page


def test_the_language_switch_turns_pages_english(client):
    client.force_login(UserFactory())
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("map")})
    assert response.status_code == 302
    page = client.get(reverse("map")).content.decode()
    assert "District map" in page and "Log out" in page


def test_api_errors_follow_accept_language(client):
    small_district()
    lon, lat = lonlat(-100, 100)  # west of the district
    english = client.get(reverse("geocode"), {"lon": lon, "lat": lat}, HTTP_ACCEPT_LANGUAGE="en")
    assert "is outside the district" in english.json()["detail"]
    chinese = client.get(
        reverse("geocode"), {"lon": lon, "lat": lat}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "不在辖区内" in chinese.json()["detail"]
