"""Background analysis jobs on a real Celery worker: created (checked first), run with
progress recorded on the job row, downloaded through a signed link that expires.

The worker runs as a separate process against the test database (``transaction=True``: the
data is committed) and the test run's own Redis, where this process sends the task.
"""

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from django.conf import settings

from analysis import jobs
from analysis.exports import export_read
from analysis.models import AnalysisJob
from tests.cases.conftest import CeleryProcesses, wait_for
from tests.conftest import TEST_REDIS_URL
from tests.factories import UserFactory

from .helpers import CELL, SIDE, cases_add, english_client, lattice_district

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
RNG = np.random.default_rng(9)


@pytest.fixture
def worker(tmp_path):
    """A Celery worker (and beat) on the test Redis, saving files where this process reads."""
    processes = CeleryProcesses(
        SimpleNamespace(url=TEST_REDIS_URL),
        tmp_path,
        {"GRIDMAP_MEDIA_ROOT": str(settings.MEDIA_ROOT)},
    )
    yield processes
    processes.stop()


@pytest.fixture
def planner():
    client = english_client()
    client.force_authenticate(UserFactory(username="planner_jobs", role="planner"))
    return client


def _poll(client, url: str) -> dict:
    seen = []

    def finished():
        body = client.get(url).json()
        seen.append((body["status"], body["progress"]))
        return body if body["status"] in ("done", "failed") else None

    body = wait_for(finished, timeout=60, interval=0.1, what=f"job {url}")
    return body | {"seen": seen}


def test_an_export_job_runs_with_progress_and_a_download_that_expires(worker, planner):
    lattice = lattice_district()
    cases = cases_add(lattice, RNG.uniform(1, SIDE * CELL - 1, size=(300, 2)))
    response = planner.post(
        "/api/v1/analysis/jobs",
        {"kind": "export", "params": {"format": "gpkg", "stage": ["closed"]}},
        format="json",
    )
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued" and response["Location"] == job["url"]
    body = _poll(planner, job["url"])
    assert body["status"] == "done", (body, worker.output()[-3000:])
    assert body["progress"] == 1.0 and body["summary"]["cases"] == 300
    statuses = [s for s, _ in body["seen"]]
    assert statuses[-1] == "done"
    record = AnalysisJob.objects.get(pk=job["id"])
    assert record.started_at <= record.finished_at

    # The signed link works without logging in, gives the file, and is refused once expired.
    link = body["download"]
    assert link.startswith("http://testserver/api/v1/analysis/downloads/")
    anonymous = english_client()
    download = anonymous.get(link)
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    frame = export_read(content, "gpkg")
    assert set(frame["案卷号"]) == {c.number for c in cases}
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert anonymous.get(tampered).status_code == 404
    time.sleep(1.1)
    original = jobs.LINK_TTL_S
    jobs.LINK_TTL_S = 1
    try:
        expired = anonymous.get(link)
    finally:
        jobs.LINK_TTL_S = original
    assert expired.status_code == 410
    assert "expired" in expired.json()["detail"]

    # Someone else does not see the job.
    other = english_client()
    other.force_authenticate(UserFactory(username="planner_other", role="planner"))
    assert other.get(job["url"]).status_code == 404


def test_a_heatmap_job(worker, planner):
    lattice = lattice_district()
    cases_add(lattice, RNG.uniform(1, SIDE * CELL - 1, size=(100, 2)))
    response = planner.post(
        "/api/v1/analysis/jobs",
        {"kind": "heatmap", "params": {"format": "tiff", "cell_m": 10}},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = _poll(planner, response.json()["url"])
    assert body["status"] == "done", worker.output()[-3000:]
    assert body["filename"] == "heatmap.tif" and body["summary"]["cases"] == 100


def test_bad_jobs_are_refused_at_once(planner):
    lattice = lattice_district()
    cases_add(lattice, RNG.uniform(1, SIDE * CELL - 1, size=(10, 2)))
    for payload, field in [
        ({"kind": "export", "params": {"format": "pdf"}}, "format"),
        ({"kind": "heatmap", "params": {"bandwidth_m": 0}}, "bandwidth_m"),
        ({"kind": "hotspots", "params": {"reported_after": "2040-01-01"}}, "filters"),
        ({"kind": "export", "params": {"format": "csv", "colour": "red"}}, "colour"),
        ({"kind": "sculpture", "params": {}}, "kind"),
    ]:
        response = planner.post("/api/v1/analysis/jobs", payload, format="json")
        assert response.status_code == 400, (payload, response.content)
        assert field in response.json()
    assert not AnalysisJob.objects.exists()


def test_old_jobs_and_their_files_are_removed():
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    user = UserFactory(username="planner_old", role="planner")
    old = AnalysisJob.objects.create(kind="export", user=user, status="done")
    old.file.save("cases.csv", ContentFile(b"x"), save=False)
    old.finished_at = timezone.now() - timedelta(days=8)
    old.save()
    fresh = AnalysisJob.objects.create(
        kind="export", user=user, status="done", finished_at=timezone.now()
    )
    path = Path(old.file.path)
    assert path.exists()
    assert jobs.jobs_cleanup() == 1
    assert not path.exists()
    assert list(AnalysisJob.objects.values_list("pk", flat=True)) == [fresh.pk]
