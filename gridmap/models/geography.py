"""Administrative geography and responsibility zones.

The administrative levels nest and tile: a District (区) is tiled by Subdistricts (街道/办事处),
a Subdistrict by Communities (社区), a Community by UnitGrids (单元网格, ~10,000 m² each).
Children may not stick out of their parent (``clean()`` checks it with a tolerance of
``GRIDMAP_NESTING_TOLERANCE_M`` metres and names the offending area), and grid codes follow the
configured layout (``GRIDMAP_GRID_CODE_LAYOUT``, default 6+3+3+3 digits).

Responsibility zones (责任区) overlap freely: frontage zones (门前五包), subcontract zones (分包),
team jurisdictions and patrol zones (监督员巡查区).
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .base import STORAGE_SRID, CodedFeature, gist, valid_geometry


def code_length(level: int) -> int:
    """Digits of a code at ``level`` (0 district, 1 subdistrict, 2 community, 3 grid)."""
    return sum(settings.GRIDMAP_GRID_CODE_LAYOUT[: level + 1])


class NestedArea(CodedFeature):
    """An administrative area that must lie within its parent and extend its parent's code."""

    #: Name of the foreign key to the parent area; None at the top level.
    parent_field: str | None = None
    level: int = 0

    geom = models.MultiPolygonField(srid=STORAGE_SRID, spatial_index=False)

    class Meta(CodedFeature.Meta):
        abstract = True

    @property
    def parent_area(self):
        return getattr(self, self.parent_field) if self.parent_field else None

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        self._check_code(errors)
        self._check_nesting(errors)
        if errors:
            raise ValidationError(errors)

    def _check_code(self, errors: dict) -> None:
        expected = code_length(self.level)
        label = self._meta.verbose_name
        if not (self.code.isdigit() and len(self.code) == expected):
            errors.setdefault("code", []).append(
                _("A %(label)s code has %(n)d digits (layout %(layout)s); got %(code)r.")
                % {
                    "label": label,
                    "n": expected,
                    "layout": "+".join(map(str, settings.GRIDMAP_GRID_CODE_LAYOUT)),
                    "code": self.code,
                }
            )
        parent = self.parent_area if self.parent_field and self._parent_is_set() else None
        if parent is not None and not self.code.startswith(parent.code):
            errors.setdefault("code", []).append(
                _("The code %(code)s must start with its parent's code %(parent)s.")
                % {"code": self.code, "parent": parent.code}
            )

    def _parent_is_set(self) -> bool:
        return getattr(self, f"{self.parent_field}_id") is not None

    def _check_nesting(self, errors: dict) -> None:
        if not self.parent_field or not self._parent_is_set() or self.geom is None:
            return
        from ..services.nesting import outside_parent

        problem = outside_parent(self.geom, self.parent_area.geom)
        if problem is not None:
            parent = self.parent_area
            errors.setdefault("geom", []).append(
                _(
                    "%(label)s %(code)s is not within its parent %(parent)s: %(area).1f m² "
                    "lies outside it, around lon %(lon).6f, lat %(lat).6f."
                )
                % {
                    "label": self._meta.verbose_name,
                    "code": self.code,
                    "parent": parent,
                    "area": problem.area_m2,
                    "lon": problem.lon,
                    "lat": problem.lat,
                }
            )


class District(NestedArea):
    """区 — the top of the administrative tree; ``code`` is the 6-digit GB/T 2260 code."""

    level = 0

    class Meta(NestedArea.Meta):
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        indexes = [gist("district")]
        constraints = [valid_geometry("district")]


class Subdistrict(NestedArea):
    """街道 / 办事处 — a sub-district office's area, e.g. 明湖街道."""

    parent_field = "district"
    level = 1

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="subdistricts")

    class Meta(NestedArea.Meta):
        verbose_name = _("subdistrict")
        verbose_name_plural = _("subdistricts")
        indexes = [gist("subdistrict")]
        constraints = [valid_geometry("subdistrict")]


class Community(NestedArea):
    """社区 — with its responsible leader (分包社区负责人)."""

    parent_field = "subdistrict"
    level = 2

    subdistrict = models.ForeignKey(
        Subdistrict, on_delete=models.PROTECT, related_name="communities"
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_communities",
        verbose_name=_("responsible leader"),
    )

    class Meta(NestedArea.Meta):
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        indexes = [gist("community")]
        constraints = [valid_geometry("community")]


class UnitGrid(NestedArea):
    """单元网格 (万米单元网格) — the smallest management unit, about 10,000 m².

    Codes follow the layout of ``GRIDMAP_GRID_CODE_LAYOUT``: by default 6 (district) + 3
    (subdistrict) + 3 (community) + 3 (sequence) = 15 digits, numbered west→east, then
    north→south inside the community.
    """

    parent_field = "community"
    level = 3

    class LandUse(models.TextChoices):
        RESIDENTIAL = "residential", _("residential")
        COMMERCIAL = "commercial", _("commercial")
        INDUSTRIAL = "industrial", _("industrial")
        PUBLIC = "public", _("public facilities")
        GREEN = "green", _("green space")
        WATER = "water", _("water")
        ROAD = "road", _("road")
        MIXED = "mixed", _("mixed")

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="grids")
    land_use = models.CharField(max_length=20, choices=LandUse.choices, default=LandUse.MIXED)
    area_m2 = models.FloatField(default=0)

    class Meta(NestedArea.Meta):
        verbose_name = _("unit grid")
        verbose_name_plural = _("unit grids")
        indexes = [gist("unitgrid")]
        constraints = [valid_geometry("unitgrid")]


class ResponsibilityZone(CodedFeature):
    """A responsibility zone (责任区). Zones may overlap each other; grids may not.

    - ``frontage`` 门前五包: a shop or unit answers for hygiene, order, greenery, facilities and
      appearance in front of its door (holder, contact, duties);
    - ``subcontract`` 分包: an office leader answers for an area, usually whole communities;
    - ``jurisdiction``: the patch of a team or department (teams link to them many-to-many);
    - ``patrol``: the grids a patrol inspector (监督员) covers.
    """

    class Kind(models.TextChoices):
        FRONTAGE = "frontage", _("frontage zone (门前五包)")
        SUBCONTRACT = "subcontract", _("subcontract zone (分包)")
        JURISDICTION = "jurisdiction", _("jurisdiction")
        PATROL = "patrol", _("patrol zone")

    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID, spatial_index=False)
    community = models.ForeignKey(
        Community,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="zones",
        help_text=_("The community the zone lies in, when it lies in one."),
    )
    holder = models.CharField(_("holder"), max_length=200, blank=True)
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    duties = models.TextField(_("duties"), blank=True)
    responsible_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="zones",
        help_text=_("Subcontract leader or patrol inspector, when the holder has an account."),
    )

    class Meta(CodedFeature.Meta):
        verbose_name = _("responsibility zone")
        verbose_name_plural = _("responsibility zones")
        indexes = [gist("responsibilityzone")]
        constraints = [valid_geometry("responsibilityzone")]
