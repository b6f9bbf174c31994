"""The generator's in-memory result: features in local metres, by layer, and the organisation."""

from dataclasses import dataclass, field

from shapely.geometry.base import BaseGeometry

#: The layers, one GeoJSON file each (``<layer>.geojson``), in loading order.
LAYERS = [
    "district",
    "subdistricts",
    "communities",
    "grids",
    "zones",
    "roads",
    "buildings",
    "water",
    "pois",
    "construction_sites",
    "components",
    "cameras",
]


@dataclass
class Feature:
    """One feature in local metres, with its properties (``code`` and ``name`` included)."""

    geom: BaseGeometry
    props: dict

    @property
    def code(self) -> str:
        return self.props["code"]


@dataclass
class Demo:
    layers: dict[str, list[Feature]] = field(default_factory=lambda: {n: [] for n in LAYERS})
    organisation: dict = field(default_factory=dict)
