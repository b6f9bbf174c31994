"""Test set-up: real PostGIS (the project-managed cluster, a fresh test database) and real Redis.

`make test` starts both (bin/stack up). The test run uses its own Redis database numbers so that
it never touches the data of a running `make run` instance.
"""

import os
import shutil
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings


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
