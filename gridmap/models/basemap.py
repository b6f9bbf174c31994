"""Base geography: the offline basemap and the input of routing and viewsheds.

Roads (with class, one-way and speed for the road network), buildings (footprints and heights
for viewsheds), points of interest, water, construction sites (在建工地) and city components (部件).
"""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from .base import STORAGE_SRID, CodedFeature, gist, valid_geometry


class Road(CodedFeature):
    """A road segment between two junctions (so that it is also an edge of the road network).

    ``oneway``: traffic flows only in the direction the line is drawn. ``speed_kmh`` overrides the
    default speed of the road class.
    """

    class RoadClass(models.TextChoices):
        EXPRESSWAY = "expressway", _("expressway")
        PRIMARY = "primary", _("primary road (主干道)")
        SECONDARY = "secondary", _("secondary road (次干道)")
        BRANCH = "branch", _("branch road (支路)")
        SERVICE = "service", _("service road")
        FOOTWAY = "footway", _("footway")

    #: Default travel speeds (km/h) by road class, for routing when a road has none of its own.
    DEFAULT_SPEED_KMH = {
        "expressway": 60.0,
        "primary": 40.0,
        "secondary": 30.0,
        "branch": 20.0,
        "service": 15.0,
        "footway": 5.0,
    }

    road_class = models.CharField(max_length=20, choices=RoadClass.choices, db_index=True)
    oneway = models.BooleanField(default=False)
    bridge = models.BooleanField(default=False)
    speed_kmh = models.FloatField(null=True, blank=True)
    geom = models.LineStringField(srid=STORAGE_SRID, spatial_index=False)

    class Meta(CodedFeature.Meta):
        verbose_name = _("road")
        verbose_name_plural = _("roads")
        indexes = [gist("road")]
        constraints = [valid_geometry("road")]

    @property
    def effective_speed_kmh(self) -> float:
        return self.speed_kmh or self.DEFAULT_SPEED_KMH.get(self.road_class, 20.0)


class Building(CodedFeature):
    """A building footprint with its height (metres) or number of floors."""

    class Use(models.TextChoices):
        RESIDENTIAL = "residential", _("residential")
        COMMERCIAL = "commercial", _("commercial")
        OFFICE = "office", _("office")
        INDUSTRIAL = "industrial", _("industrial")
        PUBLIC = "public", _("public")
        OTHER = "other", _("other")

    use = models.CharField(max_length=20, choices=Use.choices, default=Use.OTHER)
    height_m = models.FloatField(null=True, blank=True)
    floors = models.PositiveSmallIntegerField(null=True, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID, spatial_index=False)

    class Meta(CodedFeature.Meta):
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        indexes = [gist("building")]
        constraints = [valid_geometry("building")]


class PointOfInterest(CodedFeature):
    """A point of interest: markets, schools, hospitals, restaurants, shops…"""

    class Kind(models.TextChoices):
        MARKET = "market", _("market")
        SCHOOL = "school", _("school")
        HOSPITAL = "hospital", _("hospital")
        RESTAURANT = "restaurant", _("restaurant")
        SHOP = "shop", _("shop")
        PARK = "park", _("park")
        GOVERNMENT = "government", _("government")
        BUS_STOP = "bus_stop", _("bus stop")
        SURVEILLANCE = "surveillance", _("surveillance camera")
        OTHER = "other", _("other")

    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    address = models.CharField(max_length=300, blank=True)
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False)

    class Meta(CodedFeature.Meta):
        verbose_name = _("point of interest")
        verbose_name_plural = _("points of interest")
        indexes = [gist("pointofinterest")]
        constraints = [valid_geometry("pointofinterest")]


class Water(CodedFeature):
    """Rivers, canals and lakes as areas."""

    class Kind(models.TextChoices):
        RIVER = "river", _("river")
        CANAL = "canal", _("canal")
        LAKE = "lake", _("lake")
        POND = "pond", _("pond")

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RIVER)
    geom = models.MultiPolygonField(srid=STORAGE_SRID, spatial_index=False)

    class Meta(CodedFeature.Meta):
        verbose_name = _("water")
        verbose_name_plural = _("water")
        indexes = [gist("water")]
        constraints = [valid_geometry("water")]


class ConstructionSite(CodedFeature):
    """在建工地 — a construction site with its building permit and contractor."""

    permit_no = models.CharField(_("permit number"), max_length=60, blank=True)
    permit_from = models.DateField(null=True, blank=True)
    permit_to = models.DateField(null=True, blank=True)
    contractor = models.CharField(max_length=200, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID, spatial_index=False)

    class Meta(CodedFeature.Meta):
        verbose_name = _("construction site")
        verbose_name_plural = _("construction sites")
        indexes = [gist("constructionsite")]
        constraints = [valid_geometry("constructionsite")]


class ComponentClass(models.Model):
    """A component class (部件类别) of the standard: 2-digit major + 2-digit minor class.

    Major classes: 01 公用设施, 02 道路交通, 03 市容环境, 04 园林绿化, 05 房屋土地, 06 其他设施.
    """

    major_code = models.CharField(max_length=2)
    major_name = models.CharField(max_length=60)
    minor_code = models.CharField(max_length=2)
    minor_name = models.CharField(max_length=60)

    class Meta:
        verbose_name = _("component class")
        verbose_name_plural = _("component classes")
        ordering = ["major_code", "minor_code"]
        constraints = [
            models.UniqueConstraint(fields=["major_code", "minor_code"], name="componentclass_code")
        ]

    @property
    def code(self) -> str:
        return f"{self.major_code}{self.minor_code}"

    def __str__(self) -> str:
        return f"{self.code} {self.major_name} / {self.minor_name}"


class Component(models.Model):
    """部件 — a city component (manhole cover, street lamp, bin, sign…) with its standard code.

    The code is 16 digits by default: 6 administrative + 2 major + 2 minor + 6 serial
    (``GRIDMAP_COMPONENT_CODE_LAYOUT``), e.g. 410171 01 01 000001 for a water manhole cover.
    """

    class Condition(models.TextChoices):
        GOOD = "good", _("good")
        DAMAGED = "damaged", _("damaged")
        MISSING = "missing", _("missing")
        REMOVED = "removed", _("removed")

    code = models.CharField(max_length=40, unique=True)
    component_class = models.ForeignKey(
        ComponentClass, on_delete=models.PROTECT, related_name="components"
    )
    name = models.CharField(max_length=200, blank=True)
    owner_department = models.ForeignKey(
        "gridmap.Department",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="components",
    )
    owner_name = models.CharField(
        _("owner unit"), max_length=200, blank=True, help_text=_("When not one of our departments.")
    )
    condition = models.CharField(max_length=20, choices=Condition.choices, default=Condition.GOOD)
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False)

    class Meta:
        verbose_name = _("component")
        verbose_name_plural = _("components")
        ordering = ["code"]
        indexes = [gist("component")]
        constraints = [valid_geometry("component")]

    def __str__(self) -> str:
        return f"{self.code} {self.component_class.minor_name if self.component_class_id else ''}"
