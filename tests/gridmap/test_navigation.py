"""Login and navigation: each role lands on its page and sees only the pages it may open."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from cases.models import Notification
from gridmap.models import User
from gridmap.navigation import PAGES, Page, page_required, register
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def nav_keys(page: str) -> list[str]:
    start = page.index('data-testid="nav"')
    nav = page[start : page.index("</nav>", start)]
    return [part.split('"')[0] for part in nav.split('data-page="')[1:]]


@pytest.fixture
def planner_page():
    """A page only planners may open and land on (as the planner page will be)."""
    register(
        Page(
            "test-planner",
            "Planner",
            "healthz",
            roles=frozenset({"planner"}),
            landing=frozenset({"planner"}),
            order=10,
        )
    )
    yield
    PAGES.pop("test-planner")


def test_login_form_then_the_role_page(client, planner_page):
    UserFactory(username="li", password="secret", role=User.Role.PLANNER)
    response = client.post(reverse("login"), {"username": "li", "password": "secret"})
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home"))["Location"] == reverse("healthz")


def test_a_wrong_password_is_said_so(client):
    UserFactory(username="li", password="secret")
    page = client.post(reverse("login"), {"username": "li", "password": "nope"})
    assert page.status_code == 200
    assert "error" in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_top_bar_shows_only_the_pages_of_the_role(client, planner_page):
    client.force_login(UserFactory(role=User.Role.COMMANDER))
    page = client.get(reverse("map")).content.decode()
    keys = nav_keys(page)
    assert keys[0] == "console" and "map" in keys
    assert not {"field", "admin", "test-planner"} & set(keys)
    assert 'data-testid="current-user"' in page and 'name="language"' in page

    client.force_login(UserFactory(role=User.Role.PLANNER, is_staff=True))
    page = client.get(reverse("map")).content.decode()
    keys = nav_keys(page)
    assert keys[0] == "test-planner" and keys[-1] == "admin" and "console" not in keys


def test_a_device_account_has_no_pages(client):
    client.force_login(UserFactory(role=User.Role.DEVICE))
    assert client.get(reverse("home")).status_code == 403
    assert client.get(reverse("map")).status_code == 403
    assert client.get(reverse("inbox-page")).status_code == 403


def test_a_page_of_another_role_is_refused(planner_page):
    view = page_required("test-planner")(lambda request: "the page")
    request = RequestFactory().get("/")
    request.user = UserFactory(role=User.Role.OPERATOR)
    with pytest.raises(PermissionDenied, match="may not open this page"):
        view(request)
    request.user = UserFactory(role=User.Role.PLANNER)
    assert view(request) == "the page"


def test_the_inbox_counts_unread_notifications_and_marks_them_read(client):
    user = UserFactory()
    other = UserFactory()
    now = timezone.now()
    for title in ("案卷 #1 已超时", "案卷 #2 待派遣"):
        Notification.objects.create(user=user, kind="overdue", title=title, created_at=now)
    Notification.objects.create(user=other, kind="overdue", title="别人的", created_at=now)
    client.force_login(user)
    page = client.get(reverse("inbox-page")).content.decode()
    assert 'data-testid="unread">2<' in page
    assert "案卷 #1 已超时" in page and "别人的" not in page
    client.post(reverse("inbox-page"), {"id": Notification.objects.get(title="案卷 #1 已超时").pk})
    assert 'data-testid="unread">1<' in client.get(reverse("map")).content.decode()
    client.post(reverse("inbox-page"))
    page = client.get(reverse("inbox-page")).content.decode()
    assert 'data-testid="unread"' not in page


def test_the_inbox_needs_a_login(client):
    response = client.get(reverse("inbox-page"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
