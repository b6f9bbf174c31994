"""The demo district's road network: built whole, every junction reachable, the river (潮河)
crossed only on the bridges (x = 0, 1800, 2700, 3600; gridmap/demo/plan.py); the in-process
search agrees with pgRouting.

Local metres of the demo (x east, y north of its south-west corner)::

                 | 经开第十一大街 (x = 1350)
      A  ●       |  80 m north of the river's centre line, on the street
    ~~~~~~~~~~~~~~~~ 潮河 ~~~~~~~~ (no bridge at x = 1350: the street stops at each bank)
      case ✕     |  60 m south of it
                 |
      B  ●       |  350 m south of it
"""

import math

import numpy as np
import pytest
from django.contrib.gis.geos import MultiPolygon, Point
from django.db import connection
from django.utils import timezone
from pyproj import Transformer

from cases.services import case_report
from dispatch.graph import Snap, graph_for
from dispatch.network import network_rebuild
from dispatch.recommend import recommend
from dispatch.selectors import network_version
from gridmap.demo import plan
from gridmap.models import STORAGE_SRID, Road, User
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    TeamFactory,
    UserFactory,
    ZoneFactory,
)
from tests.gridmap.test_demo import demo as demo

pytestmark = pytest.mark.django_db

_to_wgs84 = Transformer.from_crs(plan.SOURCE_SRID, 4326, always_xy=True)


def demo_point(x: float, y: float) -> Point:
    p = Point(plan.ORIGIN[0] + x, plan.ORIGIN[1] + y, srid=plan.SOURCE_SRID)
    return p.transform(STORAGE_SRID, clone=True) if STORAGE_SRID != plan.SOURCE_SRID else p


def demo_lonlat(x: float, y: float) -> tuple[float, float]:
    return _to_wgs84.transform(plan.ORIGIN[0] + x, plan.ORIGIN[1] + y)


def test_the_demo_roads_make_one_connected_network(demo):
    build = network_rebuild()
    assert build.roads == Road.objects.count() == build.edges  # noded already: nothing split
    assert build.snapped_ends == 0 and build.split_roads == 0
    assert build.crossings == 0
    assert build.components == 1 and build.isolated_vertices == 0


def test_across_the_river_the_nearest_team_by_road_is_not_the_nearest_in_a_line(demo):
    network_rebuild()
    river_y = plan.river_centre_y(1350.0)
    department = DepartmentFactory(code="DR", name="河岸测试部门")
    CategoryFactory(code="E9921", department=department)
    district = ZoneFactory(
        code="JR", kind="jurisdiction", geom=MultiPolygon(demo_point(0, 0).buffer(10_000).envelope)
    )
    teams = {}
    for code, y in (("TA", river_y + 80), ("TB", river_y - 350)):
        teams[code] = TeamFactory(
            code=code,
            department=department,
            base_geom=demo_point(1350, y),
            position_geom=demo_point(1350, y),
            position_at=None,
        )
        teams[code].jurisdictions.add(district)
    lon, lat = demo_lonlat(1350, river_y - 60)
    operator = UserFactory(username="op-river", role=User.Role.OPERATOR)
    case = case_report(source="hotline", category_code="E9921", lon=lon, lat=lat, reporter=operator)
    # Without fresh positions: straight lines from the bases, A (140 m) before B (290 m).
    rec = recommend(case)
    assert [c.team_code for c in rec.candidates] == ["TA", "TB"]
    assert {c.method for c in rec.candidates} == {"straight_line"}
    assert rec.candidates[0].distance_m == pytest.approx(140, abs=0.5)
    # With fresh positions, by road: A must drive to a bridge and back, B comes up the street.
    for team in teams.values():
        team.position_at = timezone.now()
        team.save(update_fields=["position_at"])
    rec = recommend(case)
    assert [c.team_code for c in rec.candidates] == ["TB", "TA"]
    b, a = rec.candidates
    assert a.method == b.method == "network"
    assert b.distance_m == pytest.approx(290, abs=2)
    assert a.distance_m > 1000  # over a bridge (x = 0 or 1800) and back
    assert a.eta_s > 3 * b.eta_s
    # A's route crosses the river on a bridge.
    bridges = Road.objects.filter(bridge=True)
    route = a.route_geojson()["coordinates"]
    lons = [lon for lon, _ in route]
    bridge_lons = {round(r.geom.transform(4326, clone=True).centroid.x, 4) for r in bridges}
    assert any(min(abs(x - b) for x in lons) < 2e-4 for b in bridge_lons)


def test_the_in_process_search_agrees_with_pgrouting(demo):
    network_rebuild()
    version, _ = network_version()
    graph = graph_for(version)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, source FROM dispatch_networkedge WHERE cost_s > 0 AND reverse_cost_s > 0"
            " ORDER BY id LIMIT 3"
        )
        picks = cursor.fetchall()
        for edge_id, vertex in picks:
            e = int(np.flatnonzero(graph.edge_ids == edge_id)[0])
            search = graph.to_target(Snap(e, 0.0, 0.0, 0.0, 0.0))
            mine = np.min(
                np.array(
                    [
                        row + entry[1]
                        for row, entry in zip(search.times, search.entries, strict=True)
                    ]
                ),
                axis=0,
            )
            cursor.execute(
                "SELECT start_vid, agg_cost FROM pgr_dijkstra("
                "'SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost "
                "FROM dispatch_networkedge', "
                "(SELECT array_agg(id) FROM dispatch_networkvertex WHERE id <> %s), %s::bigint)"
                " WHERE edge = -1",
                [vertex, vertex],
            )
            theirs = dict(cursor.fetchall())
            assert len(theirs) == graph.vertex_count - 1
            for v, cost in theirs.items():
                assert mine[graph.vertex_index[v]] == pytest.approx(cost, abs=1e-6)
            assert not any(math.isinf(t) for t in mine)
