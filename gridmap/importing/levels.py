"""What each import level is: its model, geometry, parent, code rules and importable fields.

``--field NAME=COLUMN`` maps a model attribute to a column of the file; each attribute has a
converter that turns the text of the file into the model's type and says clearly when it cannot
(``"三层"`` is not a number of floors). Choice attributes accept the stored value or its label in
either language (``primary``, ``主干道``).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models as djm
from django.utils import translation

from .. import models
from .components import resolve_components

AREA, LINE, POINT = "area", "line", "point"


class ConversionError(ValueError):
    pass


def to_text(value) -> str:
    return "" if value is None else str(value).strip()


def to_float(value) -> float | None:
    text = to_text(value).lower().removesuffix("m").removesuffix("km/h").strip()
    if text == "" or text == "nan":
        return None
    try:
        return float(text)
    except ValueError:
        raise ConversionError(f"{value!r} is not a number") from None


def to_int(value) -> int | None:
    number = to_float(value)
    if number is None:
        return None
    if number != int(number):
        raise ConversionError(f"{value!r} is not a whole number")
    return int(number)


_TRUE = {"1", "true", "yes", "y", "t", "是", "单行", "-1"}
_FALSE = {"0", "false", "no", "n", "f", "否", "双行", ""}


def to_bool(value) -> bool:
    text = to_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE or text == "nan":
        return False
    raise ConversionError(f"{value!r} is not yes/no (1/0, true/false, 是/否)")


def to_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = to_text(value)
    if text in {"", "nan", "NaT"}:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text[:11] if fmt != "%Y%m%d" else text[:8], fmt).date()
        except ValueError:
            continue
    raise ConversionError(f"{value!r} is not a date (YYYY-MM-DD)")


def choice(choices: type[djm.TextChoices], default: str | None = None) -> Callable:
    """A converter for a TextChoices attribute accepting values and labels (zh or en)."""
    lookup: dict[str, str] = {}
    for value, label in choices.choices:
        lookup[value.lower()] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                text = str(label).strip().lower()
            lookup[text] = value
            # "primary road (主干道)" also answers to "主干道" and "primary road".
            if "(" in text:
                head, _, tail = text.partition("(")
                lookup[head.strip()] = value
                lookup[tail.rstrip(")").strip()] = value

    def convert(value) -> str:
        text = to_text(value).lower()
        if text in {"", "nan"}:
            if default is None:
                raise ConversionError("a value is required")
            return default
        if text not in lookup:
            raise ConversionError(f"{value!r} is not one of {', '.join(choices.values)}")
        return lookup[text]

    return convert


@dataclass(frozen=True)
class Level:
    name: str
    model: type[djm.Model]
    geometry: str
    #: Administrative level for code layout checks (0 district … 3 grid); None for others.
    admin_level: int | None = None
    parent: str | None = None
    parent_fk: str | None = None
    name_required: bool = False
    code_required: bool = False
    #: Prefix of codes made up for features without one (from the feature id).
    code_prefix: str = ""
    #: Importable attributes: model field → converter.
    fields: dict[str, Callable] = field(default_factory=dict)
    #: Attributes set when the file does not give them.
    defaults: dict[str, object] = field(default_factory=dict)
    #: Whether features entirely outside the district are errors (else skipped with a warning).
    must_be_inside: bool = True
    #: How far outside the district a feature may lie and still be kept (with a warning).
    outside_margin_m: float = 0.0
    #: Called with the importer after parents are resolved, for what is special to the level.
    resolver: Callable | None = None
    #: Column names recognised for attributes that no ``--field`` maps (compared lower-case).
    aliases: dict[str, list[str]] = field(default_factory=dict)


LEVELS: dict[str, Level] = {
    level.name: level
    for level in [
        Level(
            "district", models.District, AREA, admin_level=0, name_required=True, code_required=True
        ),
        Level(
            "subdistrict",
            models.Subdistrict,
            AREA,
            admin_level=1,
            parent="district",
            parent_fk="district",
            name_required=True,
            code_required=True,
        ),
        Level(
            "community",
            models.Community,
            AREA,
            admin_level=2,
            parent="subdistrict",
            parent_fk="subdistrict",
            name_required=True,
            code_required=True,
        ),
        Level(
            "grid",
            models.UnitGrid,
            AREA,
            admin_level=3,
            parent="community",
            parent_fk="community",
            code_required=True,
            fields={"land_use": choice(models.UnitGrid.LandUse, "mixed")},
            defaults={"land_use": "mixed"},
        ),
        Level(
            "zone",
            models.ResponsibilityZone,
            AREA,
            code_prefix="Z",
            fields={
                "kind": choice(models.ResponsibilityZone.Kind),
                "holder": to_text,
                "contact": to_text,
                "duties": to_text,
            },
        ),
        Level(
            "road",
            models.Road,
            LINE,
            code_prefix="R",
            must_be_inside=False,
            fields={
                "road_class": choice(models.Road.RoadClass, "branch"),
                "oneway": to_bool,
                "bridge": to_bool,
                "speed_kmh": to_float,
            },
            defaults={"road_class": "branch", "oneway": False, "bridge": False},
        ),
        Level(
            "building",
            models.Building,
            AREA,
            code_prefix="B",
            must_be_inside=False,
            fields={
                "use": choice(models.Building.Use, "other"),
                "height_m": to_float,
                "floors": to_int,
            },
            defaults={"use": "other"},
        ),
        Level(
            "poi",
            models.PointOfInterest,
            POINT,
            code_prefix="P",
            must_be_inside=False,
            fields={"kind": choice(models.PointOfInterest.Kind, "other"), "address": to_text},
            defaults={"kind": "other"},
        ),
        Level(
            "water",
            models.Water,
            AREA,
            code_prefix="W",
            must_be_inside=False,
            fields={"kind": choice(models.Water.Kind, "river")},
            defaults={"kind": "river"},
        ),
        Level(
            "component",
            models.Component,
            POINT,
            code_required=True,
            outside_margin_m=30.0,
            resolver=resolve_components,
            fields={
                "class": to_text,
                "owner": to_text,
                "condition": choice(models.Component.Condition, "good"),
            },
            defaults={"condition": "good"},
        ),
        Level(
            "construction_site",
            models.ConstructionSite,
            AREA,
            code_prefix="CS",
            fields={
                "permit_no": to_text,
                "permit_from": to_date,
                "permit_to": to_date,
                "contractor": to_text,
            },
        ),
    ]
}
