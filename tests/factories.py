"""factory_boy factories and a small hand-drawn district.

Geometry is drawn in metres in EPSG:4547 (CGCS2000 / Gauss-Kruger CM 114E) relative to ORIGIN,
a spot about 6 km south-west of the demo district (113.67 E, 34.60 N), and transformed to the
storage CRS. The small district, seen from above (x east, y north, metres):

    300 +--------------------+--------------------+
        |  grid ...001       |  grid ...001       |
        |  (west, north)     |  (east, north)     |
    150 +--------------------+--------------------+   frontage zone F1: x 20..60, y 140..160
        |  grid ...002       |  grid ...002       |   (straddles the C1 north/south grid edge)
        |                    |                    |   jurisdiction zone J1: the whole district
      0 +--------------------+--------------------+
        0     community C1  200    community C2  400
"""

import factory
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from pyproj import Transformer

from gridmap import models
from gridmap.models import STORAGE_SRID

ORIGIN = (470_000.0, 3_830_000.0)
DRAWN_SRID = 4547
_to_wgs84 = Transformer.from_crs(DRAWN_SRID, 4326, always_xy=True)
_from_wgs84 = Transformer.from_crs(4326, DRAWN_SRID, always_xy=True)


def _store(geom):
    geom.srid = DRAWN_SRID
    if STORAGE_SRID != DRAWN_SRID:
        geom.transform(STORAGE_SRID)
    return geom


def rect(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    """A rectangle in local metres, as a MultiPolygon in the storage CRS."""
    ox, oy = ORIGIN
    ring = [(ox + x0, oy + y0), (ox + x1, oy + y0), (ox + x1, oy + y1), (ox + x0, oy + y1)]
    ring.append(ring[0])
    return _store(MultiPolygon(Polygon(ring)))


def point(x: float, y: float) -> Point:
    return _store(Point(ORIGIN[0] + x, ORIGIN[1] + y))


def line(*coords: tuple[float, float]) -> LineString:
    return _store(LineString([(ORIGIN[0] + x, ORIGIN[1] + y) for x, y in coords]))


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS-84 (lon, lat) of a local point, for API calls."""
    return _to_wgs84.transform(ORIGIN[0] + x, ORIGIN[1] + y)


def local_xy(lon: float, lat: float) -> tuple[float, float]:
    """Local metres of a WGS-84 point (the inverse of ``lonlat``)."""
    x, y = _from_wgs84.transform(lon, lat)
    return x - ORIGIN[0], y - ORIGIN[1]


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.District
        django_get_or_create = ["code"]

    code = "410199"
    name = "测试区"
    geom = factory.LazyFunction(lambda: rect(0, 0, 400, 300))


class SubdistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Subdistrict
        django_get_or_create = ["code"]

    district = factory.SubFactory(DistrictFactory)
    code = factory.LazyAttribute(lambda o: o.district.code + "001")
    name = "测试街道"
    geom = factory.LazyFunction(lambda: rect(0, 0, 400, 300))


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Community
        django_get_or_create = ["code"]

    subdistrict = factory.SubFactory(SubdistrictFactory)
    code = factory.Sequence(lambda n: f"410199001{n + 1:03d}")
    name = factory.Sequence(lambda n: f"测试{n + 1}社区")
    geom = factory.LazyFunction(lambda: rect(0, 0, 200, 300))


class UnitGridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.UnitGrid

    community = factory.SubFactory(CommunityFactory)
    geom = factory.LazyFunction(lambda: rect(0, 150, 200, 300))
    area_m2 = factory.LazyAttribute(lambda o: o.geom.area)

    @factory.lazy_attribute_sequence
    def code(self, n):
        return f"{self.community.code}{n + 1:03d}"


class RoadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Road

    code = factory.Sequence(lambda n: f"R{n + 1:04d}")
    name = factory.Sequence(lambda n: f"测试路{n + 1}")
    road_class = models.Road.RoadClass.BRANCH
    geom = factory.LazyFunction(lambda: line((0, 150), (400, 150)))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Department
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"T{n + 1:02d}")
    name = factory.Sequence(lambda n: f"测试部门{n + 1}")


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ResponsibilityZone

    code = factory.Sequence(lambda n: f"Z{n + 1:04d}")
    name = factory.Sequence(lambda n: f"责任区{n + 1}")
    kind = models.ResponsibilityZone.Kind.FRONTAGE
    geom = factory.LazyFunction(lambda: rect(20, 140, 60, 160))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Team

    code = factory.Sequence(lambda n: f"TM{n + 1:03d}")
    name = factory.Sequence(lambda n: f"测试队{n + 1}")
    department = factory.SubFactory(DepartmentFactory)
    kind = models.Team.Kind.ENFORCEMENT
    base_geom = factory.LazyFunction(lambda: point(100, 100))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n + 1}")
    role = models.User.Role.COMMANDER

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "pw")
        if create:
            self.save(update_fields=["password"])


def small_district() -> dict:
    """The district drawn in the module docstring: 2 communities, 4 grids, 2 zones, 1 team."""
    district = DistrictFactory()
    subdistrict = SubdistrictFactory(district=district)
    c1 = CommunityFactory(
        subdistrict=subdistrict, code="410199001001", name="西社区", geom=rect(0, 0, 200, 300)
    )
    c2 = CommunityFactory(
        subdistrict=subdistrict, code="410199001002", name="东社区", geom=rect(200, 0, 400, 300)
    )
    grids = {
        "c1_north": UnitGridFactory(
            community=c1, code="410199001001001", geom=rect(0, 150, 200, 300)
        ),
        "c1_south": UnitGridFactory(
            community=c1, code="410199001001002", geom=rect(0, 0, 200, 150)
        ),
        "c2_north": UnitGridFactory(
            community=c2, code="410199001002001", geom=rect(200, 150, 400, 300)
        ),
        "c2_south": UnitGridFactory(
            community=c2, code="410199001002002", geom=rect(200, 0, 400, 150)
        ),
    }
    frontage = ZoneFactory(
        code="F1",
        name="张记面馆门前",
        kind="frontage",
        holder="张记面馆",
        contact="13800000001",
        community=c1,
        geom=rect(20, 140, 60, 160),
    )
    jurisdiction = ZoneFactory(
        code="J1", name="执法一中队辖区", kind="jurisdiction", geom=rect(0, 0, 400, 300)
    )
    team = TeamFactory(code="TM1", name="执法一中队")
    team.jurisdictions.add(jurisdiction)
    return {
        "district": district,
        "subdistrict": subdistrict,
        "c1": c1,
        "c2": c2,
        "grids": grids,
        "frontage": frontage,
        "jurisdiction": jurisdiction,
        "team": team,
    }


class CategoryFactory(factory.django.DjangoModelFactory):
    """An event category (事件) unless told otherwise; 4 working hours to dispose."""

    class Meta:
        model = "cases.Category"
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"E98{n + 1:02d}")  # not a shipped category
    kind = "event"
    major_code = factory.LazyAttribute(lambda o: o.code[1:3])
    major_name = "测试大类"
    minor_code = factory.LazyAttribute(lambda o: o.code[3:5])
    minor_name = factory.Sequence(lambda n: f"测试问题{n + 1}")
    department = factory.SubFactory(DepartmentFactory)

    @factory.post_generation
    def limits(self, create, extracted, **kwargs):
        if create and not self.time_limits.exists():
            self.time_limits.create(condition="any", value=4, unit="working_hours")
