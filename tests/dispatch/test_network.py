"""The road network (路网) built from roads: junctions, snapping, T junctions, costs, one-way
streets, crossings; the demo district's network; ``manage.py build_network``.

Small networks are drawn in local metres (tests/factories.py, EPSG:4547 around ORIGIN)::

    y 100          B (branch, ends 0.5 m above A's middle: a T junction)
                   |
    y   0  A ------+------ A'    C starts 0.3 m from A's east end (snapped onto it)
          x=0     100     200 --- C --- 300
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from dispatch.models import NetworkEdge, NetworkState, NetworkVertex
from dispatch.network import network_rebuild, network_rebuild_if_behind, network_state
from gridmap.models import Road
from tests.factories import RoadFactory, line

pytestmark = pytest.mark.django_db


def edges_by_road() -> dict[str, list[NetworkEdge]]:
    codes = dict(Road.objects.values_list("id", "code"))
    out: dict[str, list[NetworkEdge]] = {}
    for edge in NetworkEdge.objects.order_by("id"):
        out.setdefault(codes[edge.road_id], []).append(edge)
    return out


def test_a_t_junction_splits_the_road_and_near_ends_are_snapped():
    RoadFactory(code="A", geom=line((0, 0), (200, 0)))
    RoadFactory(code="B", geom=line((100, 100), (100, 0.5)))
    RoadFactory(code="C", geom=line((200.3, 0.2), (300, 0)))
    build = network_rebuild()
    edges = edges_by_road()
    # A is cut where B ends on it: two edges, meeting at B's end junction.
    assert len(edges["A"]) == 2 and len(edges["B"]) == 1 and len(edges["C"]) == 1
    assert build.split_roads == 1
    assert build.snapped_ends >= 1  # C's start moved onto A's end
    west, east = sorted(edges["A"], key=lambda e: e.geom.centroid.x)
    b = edges["B"][0]
    assert west.target == east.source == b.target
    assert abs(west.length_m - 100) < 1 and abs(east.length_m - 100) < 1
    assert edges["C"][0].source == east.target  # snapped: one junction
    assert build.edges == 4 and build.vertices == 5
    assert build.components == 1 and build.isolated_vertices == 0
    assert build.crossings == 0


def test_costs_come_from_length_and_speed_and_one_way_streets_are_closed_backwards():
    RoadFactory(code="BR", road_class="branch", geom=line((0, 0), (200, 0)))
    RoadFactory(code="PR", road_class="primary", geom=line((200, 0), (600, 0)))
    RoadFactory(code="FAST", road_class="branch", speed_kmh=72, geom=line((600, 0), (800, 0)))
    RoadFactory(code="ONE", road_class="branch", oneway=True, geom=line((800, 0), (800, 100)))
    RoadFactory(code="WALK", road_class="footway", geom=line((800, 100), (900, 100)))
    RoadFactory(code="SHUT", road_class="branch", speed_kmh=0, geom=line((0, 0), (0, -100)))
    network_rebuild()
    edges = {code: e[0] for code, e in edges_by_road().items()}
    assert abs(edges["BR"].cost_s - 36.0) < 0.01  # 200 m at 20 km/h
    assert abs(edges["PR"].cost_s - 36.0) < 0.01  # 400 m at 40 km/h
    assert abs(edges["FAST"].cost_s - 10.0) < 0.01  # its own 72 km/h
    assert edges["BR"].reverse_cost_s == edges["BR"].cost_s
    assert edges["ONE"].cost_s > 0 and edges["ONE"].reverse_cost_s == -1
    # Teams drive: no footways, no closed roads.
    assert "WALK" not in edges and "SHUT" not in edges


def test_roads_crossing_without_a_junction_are_counted_not_joined():
    RoadFactory(code="EW", geom=line((0, 50), (200, 50)))
    RoadFactory(code="NS", geom=line((100, 0), (100, 100)))  # an overpass, or a missing node
    build = network_rebuild()
    assert build.crossings == 1
    assert sorted(build.crossing_examples[0][:2]) == ["EW", "NS"]
    assert build.components == 2 and build.edges == 2 and build.vertices == 4


def test_the_state_row_tells_whether_the_network_is_behind_the_roads():
    RoadFactory(code="A", geom=line((0, 0), (200, 0)))
    network_rebuild()
    assert network_state().is_current
    assert network_rebuild_if_behind() is None
    # Any write to the roads marks it behind, bulk ones too (a trigger, whoever writes).
    Road.objects.bulk_create(
        [Road(code="B", name="乙", road_class="branch", geom=line((200, 0), (200, 90)))]
    )
    assert not network_state().is_current
    build = network_rebuild_if_behind()
    assert build is not None and build.edges == 2
    assert network_state().is_current
    Road.objects.filter(code="B").update(oneway=True)
    assert not NetworkState.objects.get().is_current


def test_a_rebuild_is_all_or_nothing():
    RoadFactory(code="A", geom=line((0, 0), (200, 0)))
    network_rebuild()
    before = list(NetworkEdge.objects.values_list("source", "target", "cost_s"))
    with pytest.raises(ValueError, match="tolerance"):
        network_rebuild(tolerance_m=-1)
    assert list(NetworkEdge.objects.values_list("source", "target", "cost_s")) == before


def test_build_network_command_reports_and_refuses_bad_input():
    RoadFactory(code="EW", geom=line((0, 50), (200, 50)))
    RoadFactory(code="NS", geom=line((100, 0), (100, 100)))
    out = io.StringIO()
    call_command("build_network", stdout=out)
    text = out.getvalue()
    assert "2 roads" in text and "2 edges" in text
    assert "cross without a junction" in text and "EW × NS" in text
    assert "2 separate pieces" in text
    out = io.StringIO()
    call_command("build_network", "--if-behind", stdout=out)
    assert "current" in out.getvalue()
    with pytest.raises(CommandError, match="--tolerance"):
        call_command("build_network", "--tolerance", "-3")
    Road.objects.all().delete()
    with pytest.raises(CommandError, match="no drivable roads"):
        call_command("build_network", stdout=io.StringIO())


def test_pgrouting_routes_over_the_built_network():
    # A square with one one-way side: from its south-west corner to the north-west corner the
    # short way (west side, drawn northwards → southwards only) is closed.
    RoadFactory(code="W", oneway=True, geom=line((0, 100), (0, 0)))
    RoadFactory(code="S", geom=line((0, 0), (100, 0)))
    RoadFactory(code="E", geom=line((100, 0), (100, 100)))
    RoadFactory(code="N", geom=line((100, 100), (0, 100)))
    network_rebuild()
    sw = NetworkVertex.objects.get(geom__dwithin=(line((0, 0), (0, 0.1)).centroid, 1))
    nw = NetworkVertex.objects.get(geom__dwithin=(line((0, 100), (0, 100.1)).centroid, 1))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT agg_cost FROM pgr_dijkstra('SELECT id, source, target, cost_s AS cost, "
            "reverse_cost_s AS reverse_cost FROM dispatch_networkedge', %s::bigint, %s::bigint)"
            " WHERE edge = -1",
            [sw.pk, nw.pk],
        )
        (there,) = cursor.fetchone()
        cursor.execute(
            "SELECT agg_cost FROM pgr_dijkstra('SELECT id, source, target, cost_s AS cost, "
            "reverse_cost_s AS reverse_cost FROM dispatch_networkedge', %s::bigint, %s::bigint)"
            " WHERE edge = -1",
            [nw.pk, sw.pk],
        )
        (back,) = cursor.fetchone()
    assert abs(there - 54.0) < 0.1  # 300 m round the square at 20 km/h
    assert abs(back - 18.0) < 0.1  # 100 m down the one-way street


def test_the_admin_shows_the_state_and_rebuilds(client):
    from django.urls import reverse

    from tests.factories import UserFactory

    admin = UserFactory(username="root", role="admin", is_staff=True, is_superuser=True)
    RoadFactory(code="A", geom=line((0, 0), (200, 0)))
    client.force_login(admin)
    client.cookies["django_language"] = "en"  # the admin in English (the language switch)
    url = reverse("admin:dispatch_networkstate_changelist")
    page = client.get(url)
    assert page.status_code == 200 and "road network" in page.content.decode()
    response = client.post(
        url,
        {"action": "rebuild", "_selected_action": [1]},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert "Rebuilt from 1 roads: 1 edges" in response.content.decode()
    assert NetworkEdge.objects.count() == 1
    assert network_state().is_current
