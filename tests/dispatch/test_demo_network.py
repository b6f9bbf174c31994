"""The demo district's road network: built whole, every junction reachable, the river crossed
only on the bridges."""

import pytest

from dispatch.network import network_rebuild
from gridmap.models import Road
from tests.gridmap.test_demo import demo as demo

pytestmark = pytest.mark.django_db


def test_the_demo_roads_make_one_connected_network(demo):
    build = network_rebuild()
    assert build.roads == Road.objects.count() == build.edges  # noded already: nothing split
    assert build.snapped_ends == 0 and build.split_roads == 0
    assert build.crossings == 0
    assert build.components == 1 and build.isolated_vertices == 0
