"""The backbone's tables: indexes, validity and uniqueness constraints, the nesting rule, codes."""

import re

import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import translation

from gridmap import models
from gridmap.models import STORAGE_SRID
from tests.factories import (
    ORIGIN,
    CommunityFactory,
    DistrictFactory,
    SubdistrictFactory,
    UnitGridFactory,
    local_xy,
    rect,
    small_district,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Messages are checked in English here (the product's default is zh-Hans)."""
    with translation.override("en"):
        yield


GEOMETRY_COLUMNS = [
    ("gridmap_district", "geom"),
    ("gridmap_subdistrict", "geom"),
    ("gridmap_community", "geom"),
    ("gridmap_unitgrid", "geom"),
    ("gridmap_responsibilityzone", "geom"),
    ("gridmap_road", "geom"),
    ("gridmap_building", "geom"),
    ("gridmap_pointofinterest", "geom"),
    ("gridmap_water", "geom"),
    ("gridmap_constructionsite", "geom"),
    ("gridmap_component", "geom"),
    ("gridmap_team", "base_geom"),
    ("gridmap_team", "position_geom"),
]


@pytest.mark.parametrize(("table", "column"), GEOMETRY_COLUMNS)
def test_every_geometry_column_has_a_named_gist_index(table, column):
    name = f"{table.removeprefix('gridmap_')}_{column}_gist"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname = %s",
            [table, name],
        )
        row = cursor.fetchone()
    assert row is not None, f"index {name} is missing"
    assert "USING gist" in row[0] and f"({column})" in row[0]


@pytest.mark.parametrize(("table", "column"), GEOMETRY_COLUMNS)
def test_every_geometry_column_is_in_the_storage_srid(table, column):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT srid FROM geometry_columns WHERE f_table_name = %s AND f_geometry_column = %s",
            [table, column],
        )
        assert cursor.fetchone()[0] == settings.GRIDMAP_SRID


def _bowtie() -> MultiPolygon:
    ox, oy = ORIGIN
    ring = [(ox, oy), (ox + 100, oy + 100), (ox + 100, oy), (ox, oy + 100), (ox, oy)]
    return MultiPolygon(Polygon(ring), srid=STORAGE_SRID)


def test_the_database_refuses_a_self_intersecting_polygon():
    with pytest.raises(IntegrityError, match="geom_valid"), transaction.atomic():
        models.District.objects.create(code="410199", name="坏区", geom=_bowtie())
    assert not models.District.objects.exists()


def test_codes_are_unique():
    DistrictFactory(code="410199")
    with pytest.raises(IntegrityError), transaction.atomic():
        models.District.objects.create(code="410199", name="重复", geom=rect(0, 0, 10, 10))


def test_a_community_within_its_subdistrict_is_clean():
    area = small_district()
    area["c1"].full_clean()
    area["grids"]["c2_south"].full_clean()


def test_a_child_sticking_out_of_its_parent_is_refused_with_where_and_how_much():
    area = small_district()
    stray = models.Community(
        subdistrict=area["subdistrict"],
        code="410199001003",
        name="越界社区",
        geom=rect(300, 200, 500, 300),  # 100 m × 100 m lies east of the district
    )
    with pytest.raises(ValidationError) as info:
        stray.full_clean()
    message = " ".join(info.value.message_dict["geom"])
    assert "410199001003" in message
    assert "10000.0 m²" in message
    lon, lat = map(float, re.search(r"lon (\d+\.\d+), lat (\d+\.\d+)", message).groups())
    x, y = local_xy(lon, lat)
    assert 400 <= x <= 500 and 200 <= y <= 300, "the point named must lie in the part outside"


def test_the_nesting_tolerance_forgives_half_a_metre():
    area = small_district()
    grid = models.UnitGrid(
        community=area["c1"], code="410199001001003", geom=rect(0, 0, 200.3, 150)
    )
    grid.full_clean()


def test_grid_codes_follow_the_layout_and_extend_the_parent_code():
    area = small_district()
    short = models.UnitGrid(community=area["c1"], code="4101990010011", geom=rect(0, 0, 10, 10))
    with pytest.raises(ValidationError, match="15 digits"):
        short.full_clean()
    foreign = models.UnitGrid(community=area["c1"], code="410199001002009", geom=rect(0, 0, 10, 10))
    with pytest.raises(ValidationError, match="must start with its parent's code 410199001001"):
        foreign.full_clean()


def test_grid_code_layout_is_configurable(settings):
    settings.GRIDMAP_GRID_CODE_LAYOUT = (6, 3, 3, 4)
    subdistrict = SubdistrictFactory()
    community = CommunityFactory(subdistrict=subdistrict, code="410199001001")
    models.UnitGrid(
        community=community, code="4101990010010001", geom=rect(0, 0, 10, 10)
    ).full_clean()
    with pytest.raises(ValidationError, match="16 digits"):
        models.UnitGrid(
            community=community, code="410199001001001", geom=rect(0, 0, 10, 10)
        ).full_clean()


def test_deleting_a_community_with_grids_is_refused():
    grid = UnitGridFactory()
    with pytest.raises(ProtectedError), transaction.atomic():
        grid.community.delete()
    assert models.UnitGrid.objects.filter(pk=grid.pk).exists()


def test_the_srid_check_refuses_a_changed_storage_crs(settings):
    settings.GRIDMAP_SRID = 32650
    with pytest.raises(SystemCheckError, match="GRIDMAP_SRID is 32650 but database"):
        call_command("check", "--database", "default")
