"""The network follows the roads with a real Celery worker and beat: an edit through the ORM (the
admin's map editor) queues a rebuild; a bulk write (the importers) is caught by the sweep."""

import pytest
from django.db import transaction

from dispatch.models import NetworkEdge
from dispatch.network import network_rebuild, network_state
from gridmap.models import Road
from tests.cases.conftest import broker, celery_factory, wait_for  # noqa: F401
from tests.conftest import TEST_REDIS_URL
from tests.factories import RoadFactory, line

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_worker_rebuilds_the_network_after_road_edits(celery_factory):  # noqa: F811
    with transaction.atomic():
        RoadFactory(code="A", geom=line((0, 0), (200, 0)))
    network_rebuild()
    assert network_state().is_current
    # The worker listens on the test run's own Redis database, where this process publishes.
    celery = celery_factory(REDIS_URL=TEST_REDIS_URL)

    road = Road.objects.get(code="A")
    road.oneway = True
    road.save()
    assert not network_state().is_current  # behind until the worker has rebuilt it
    wait_for(
        lambda: network_state().is_current,
        timeout=60,
        what=f"the rebuild after an edit\n{celery.output()[-3000:]}",
    )
    assert NetworkEdge.objects.get().reverse_cost_s == -1  # one-way now
    assert "dispatch.tasks.rebuild_network" in celery.output()

    # A bulk write sends no signal: the beat sweep finds the network behind and rebuilds it.
    Road.objects.bulk_create(
        [Road(code="B", name="乙路", road_class="branch", geom=line((200, 0), (200, 100)))]
    )
    assert not network_state().is_current
    wait_for(
        lambda: NetworkEdge.objects.count() == 2 and network_state().is_current,
        timeout=60,
        what=f"the catch-up after a bulk write\n{celery.output()[-3000:]}",
    )
    assert "dispatch.tasks.network_catch_up" in celery.output()
    a, b = NetworkEdge.objects.order_by("road_id")
    assert a.target == b.source  # joined at their common end
