"""Test set-up: real PostGIS (the project-managed cluster, a fresh test database) and real Redis.

`make test` starts both (bin/stack up). The test run uses its own Redis database numbers so that
it never touches the data of a running `make run` instance.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, AsgiServer


def _redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _test_redis_db() -> int:
    """Database 9, or 1-15 for a parallel run named by ``TOX_PARALLEL_ENV`` (which also gives
    it a test database of its own), so that parallel runs do not flush each other's Redis."""
    name = os.environ.get("TOX_PARALLEL_ENV")
    if not name:
        return 9
    return 1 + sum(name.encode()) % 15


TEST_REDIS_URL = _redis_url_with_db(settings.REDIS_URL, _test_redis_db())


def pytest_configure(config):
    settings.CACHES["default"]["LOCATION"] = TEST_REDIS_URL
    settings.CELERY_BROKER_URL = TEST_REDIS_URL
    # Uploaded evidence of the test run, apart from the platform's own.
    media = (
        settings.BASE_DIR / ".local" / f"test-media-{os.environ.get('TOX_PARALLEL_ENV', 'main')}"
    )
    shutil.rmtree(media, ignore_errors=True)
    settings.MEDIA_ROOT = media
    # Static files straight from the apps (no collectstatic before tests).
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    # Fast hashing: tests create many users; production keeps Django's default hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests need no durability; commits without waiting for the WAL flush.
    settings.DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"


@pytest.fixture(autouse=True)
def _clean_redis():
    """Every test starts with an empty test Redis (rate-limit counters, queues)."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield
    client.close()


@pytest.fixture(autouse=True)
def _english_in_the_test_process():
    """Messages made in the test process (services, commands, validation) in English, the source
    strings the assertions read. The platform itself speaks zh-Hans first: pages whatever the
    browser asks (the middleware), API answers by Accept-Language (see ``client``)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def client():
    """Django's test client as an English-speaking API client (Accept-Language: en); a test of
    the Chinese answers asks for them per request."""
    from django.test import Client

    return Client(headers={"Accept-Language": "en"})


# --- Browser tests (Playwright + Debian's chromium): one Playwright session per test run --------
@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is not installed at {CHROMIUM}: run `make deps` (apt: chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take


@pytest.fixture
def asgi_server(transactional_db):
    server = AsgiServer()
    yield server
    server.stop()
