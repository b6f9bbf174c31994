"""Unit-grid splitting: exact tiling, grid size, numbering order, codes, the stored service."""

import itertools
import math

import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.affinity import rotate
from shapely.geometry import LineString, Polygon, box

from gridmap.models import UnitGrid
from gridmap.services.grids import split_area
from gridmap.services.unit_grids import community_generate_grids
from tests.factories import RoadFactory, line, rect, small_district

GRID = 1e-6  # checks run on the splitter's micrometre grid (floating overlay is not robust)


def assert_tiles(pieces, area, *, rel=1e-7):
    """The pieces cover ``area``: same total area, same union, no overlaps (below 10 cm²)."""
    geoms = [p.geom for p in pieces]
    assert math.isclose(sum(g.area for g in geoms), area.area, rel_tol=rel, abs_tol=1e-2)
    union = shapely.union_all(geoms, grid_size=GRID)
    assert shapely.symmetric_difference(union, area, grid_size=GRID).area <= max(
        area.area * rel, 1e-2
    )
    tree = shapely.STRtree(geoms)
    for i, j in zip(*tree.query(geoms, predicate="intersects"), strict=True):
        if i < j:
            overlap = shapely.intersection(geoms[i], geoms[j], grid_size=GRID).area
            assert overlap < 1e-3, f"pieces {i} and {j} overlap by {overlap} m²"
    assert all(g.is_valid for g in geoms)


def test_a_rectangle_is_cut_into_equal_grids_numbered_west_to_east_then_north_to_south():
    area = box(0, 0, 300, 200)  # 6 hectares → 6 grids of 1 ha
    pieces = split_area(area, target_area_m2=10_000)
    assert_tiles(pieces, area)
    assert len(pieces) == 6
    assert all(math.isclose(p.geom.area, 10_000, rel_tol=1e-4) for p in pieces)
    assert [p.sequence for p in pieces] == [1, 2, 3, 4, 5, 6]
    centres = [p.geom.centroid for p in pieces]
    north_row, south_row = centres[:3], centres[3:]
    assert all(c.y > 100 for c in north_row) and all(c.y < 100 for c in south_row)
    assert [c.x for c in north_row] == sorted(c.x for c in north_row)
    assert [c.x for c in south_row] == sorted(c.x for c in south_row)


def test_cutting_along_roads_keeps_every_grid_on_one_side_of_each_road():
    # Four blocks of about 12 ha: every block is big enough to keep its own grids.
    area = rotate(Polygon([(0, 0), (800, 0), (850, 600), (-50, 600)]), 17, origin=(0, 0))
    roads = [
        rotate(LineString([(-500, 300), (1500, 300)]), 17, origin=(0, 0)),
        rotate(LineString([(400, -500), (400, 1500)]), 17, origin=(0, 0)),
    ]
    pieces = split_area(area, target_area_m2=10_000, roads=roads)
    assert_tiles(pieces, area)
    for piece in pieces:
        for road in roads:
            # The road may run along a grid's edge but never through its interior.
            inside = road.intersection(piece.geom).difference(piece.geom.boundary.buffer(1e-6))
            assert inside.length < 1e-6, "a grid must not straddle a road"
    areas = [p.geom.area for p in pieces]
    assert min(areas) >= 3_000 and max(areas) <= 20_000


def test_a_multipolygon_area_with_a_hole_is_tiled():
    lake = Polygon([(100, 100), (200, 100), (200, 180), (100, 180)])
    area = box(0, 0, 400, 300).difference(lake)
    pieces = split_area(area, target_area_m2=10_000)
    assert_tiles(pieces, area)
    assert all(p.geom.intersection(lake).area < 1e-6 for p in pieces)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="target_area_m2 must be positive"):
        split_area(box(0, 0, 10, 10), target_area_m2=0)
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    with pytest.raises(ValueError, match="valid, non-empty"):
        split_area(bowtie)


@st.composite
def star_polygons(draw):
    """Random star-shaped polygons of 2–40 hectares (always simple, hence valid)."""
    n = draw(st.integers(min_value=5, max_value=14))
    radii = draw(st.lists(st.floats(100, 400), min_size=n, max_size=n))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi), min_size=n, max_size=n, unique=True)))
    if any(b - a < 0.05 for a, b in itertools.pairwise([*angles, angles[0] + 2 * math.pi])):
        angles = [2 * math.pi * i / n for i in range(n)]
    polygon = Polygon(
        [(r * math.cos(a), r * math.sin(a)) for r, a in zip(radii, angles, strict=True)]
    )
    assume(polygon.is_valid)
    return polygon


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(area=star_polygons(), target=st.sampled_from([5_000.0, 10_000.0, 20_000.0]))
def test_any_simple_polygon_is_tiled_exactly_by_grids_of_about_the_target_size(area, target):
    pieces = split_area(area, target_area_m2=target)
    assert_tiles(pieces, area)
    if area.area >= target:
        assert all(p.geom.area >= 0.3 * target for p in pieces)
    assert all(p.geom.area <= 2.0 * target for p in pieces) or len(pieces) == 1


@pytest.mark.django_db
def test_the_service_stores_coded_grids_that_tile_the_community():
    area = small_district()
    community = area["c2"]
    community.grids.all().delete()
    RoadFactory(code="R1", geom=line((300, -10), (300, 310)))  # splits C2 into west / east halves
    grids = community_generate_grids(community=community, target_area_m2=5_000, along_roads=True)
    assert len(grids) == 12
    assert [g.code for g in grids] == [f"410199001002{i:03d}" for i in range(1, 13)]
    stored = UnitGrid.objects.filter(community=community)
    assert math.isclose(sum(g.geom.area for g in stored), community.geom.area, rel_tol=1e-8)
    for grid in stored:
        grid.full_clean()
        centre = grid.geom.centroid
        assert not (grid.geom.intersection(area["c2"].geom).area < 1)
        assert centre.x != pytest.approx(rect(300, 0, 300.001, 1).centroid.x, abs=1)


@pytest.mark.django_db
def test_the_service_will_not_silently_replace_existing_grids():
    area = small_district()
    with pytest.raises(ValueError, match="already has 2 grids"):
        community_generate_grids(community=area["c1"])
    assert area["c1"].grids.count() == 2
    community_generate_grids(community=area["c1"], target_area_m2=10_000, replace=True)
    assert area["c1"].grids.count() == 6
