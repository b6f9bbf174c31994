"""Import cameras (摄像头点位) through the district importer: CSV / Excel with lon/lat columns,
GeoJSON, GeoPackage, Shapefile, KML — and the surveillance points ``import_osm`` found.

Columns are recognised by common names (English, Chinese, OSM tags): heading / 方向 / 朝向 /
``camera:direction`` as degrees clockwise from north or compass letters (N, NE, ENE, 东北…);
field of view / 视场角, or focal length / 焦距 with sensor width / 靶面宽度; range / 可视距离;
mount height / 安装高度; PTZ / 球机 (or a type column: dome, ptz, 球机 vs fixed, bullet, 枪机);
stream / 视频流 (RTSP or HLS), snapshot / 抓图; owner / 权属单位. Impossible values (a heading
outside 0–360, a zero or negative range, a field of view above 360) are errors naming the row;
missing ones take defaults that are reported and kept on the camera (``defaulted``) to be
checked on site. All-or-nothing, as every import.
"""

import re

from django.utils.translation import gettext_lazy as _

from gridmap.importing.levels import LEVELS, POINT, ConversionError, Level, to_float, to_text
from gridmap.models import PointOfInterest

from .models import Camera, fov_from_lens

#: Compass points (English letters and Chinese) → degrees clockwise from north.
COMPASS = {
    name: i * 22.5
    for i, name in enumerate(
        [
            "N",
            "NNE",
            "NE",
            "ENE",
            "E",
            "ESE",
            "SE",
            "SSE",
            "S",
            "SSW",
            "SW",
            "WSW",
            "W",
            "WNW",
            "NW",
            "NNW",
        ]
    )
} | {"北": 0, "东北": 45, "东": 90, "东南": 135, "南": 180, "西南": 225, "西": 270, "西北": 315}
COMPASS |= {
    "正北": 0, "正东": 90, "正南": 180, "正西": 270,
    "NORTH": 0, "EAST": 90, "SOUTH": 180, "WEST": 270,
}  # fmt: skip

PTZ_WORDS = {"ptz", "dome", "球机", "云台", "speed_dome", "panning"}
FIXED_WORDS = {"fixed", "bullet", "枪机", "box", "static", "半球", "hemisphere"}

#: Defaults for what a file does not say (reported per camera in ``defaulted``).
DEFAULTS = {"heading_deg": 0.0, "fov_deg": 60.0, "range_m": 80.0, "mount_height_m": 6.0}

#: Column names recognised for each attribute (compared lower-case).
ALIASES = {
    "heading_deg": ["heading", "heading_deg", "direction", "azimuth", "bearing", "camera:direction",
                    "方向", "朝向", "方位角", "方位"],
    # Not OSM's camera:angle: that is the tilt from the horizontal, not the field of view.
    "fov_deg": ["fov", "fov_deg", "field_of_view", "hfov", "视场角", "视角", "水平视场角"],
    "focal_length_mm": ["focal_length", "focal_length_mm", "focal", "焦距"],
    "sensor_width_mm": ["sensor_width", "sensor_width_mm", "靶面宽度", "传感器宽度"],
    "range_m": ["range", "range_m", "distance", "view_distance", "可视距离", "监控距离", "距离"],
    "mount_height_m": ["mount_height", "mount_height_m", "height", "安装高度", "高度"],
    "ptz": ["ptz", "is_ptz", "type", "camera:type", "camera_type", "类型", "球机"],
    "stream_url": ["stream_url", "stream", "rtsp", "hls", "video_url", "视频流", "视频地址"],
    "snapshot_url": ["snapshot_url", "snapshot", "抓图", "截图地址"],
    "owner": ["owner", "operator", "权属单位", "建设单位", "所属单位"],
}  # fmt: skip


def to_heading(value) -> float | None:
    """Degrees clockwise from north (0 ≤ h ≤ 360; 360 is north) or a compass point."""
    text = to_text(value)
    if not text:
        return None
    key = text.upper() if text.isascii() else text
    if key in COMPASS:
        return float(COMPASS[key])
    try:
        degrees = float(re.sub(r"[°度\s]", "", text))
    except ValueError:
        raise ConversionError(
            f"{text!r} is not a heading: degrees from north (0–360) or a compass point (N, NE…)"
        ) from None
    if not 0 <= degrees <= 360:
        raise ConversionError(f"a heading lies between 0 and 360 degrees; got {degrees:g}")
    return degrees % 360


def _positive(what: str, *, upper: float | None = None):
    def convert(value) -> float | None:
        number = to_float(value)
        if number is None:
            return None
        if number <= 0:
            raise ConversionError(f"{what} must be above zero; got {number:g}")
        if upper is not None and number > upper:
            raise ConversionError(f"{what} is at most {upper:g}; got {number:g}")
        return number

    return convert


def to_height(value) -> float | None:
    number = to_float(value)
    if number is not None and number < 0:
        raise ConversionError(f"a mount height cannot be negative; got {number:g}")
    return number


def to_ptz(value) -> bool | None:
    """True for a PTZ dome (球机), False for a fixed camera; from yes/no or a camera type."""
    text = to_text(value).lower()
    if not text:
        return None
    if text in PTZ_WORDS or text in {"1", "true", "yes", "y", "是"}:
        return True
    if text in FIXED_WORDS or text in {"0", "false", "no", "n", "否"}:
        return False
    raise ConversionError(f"{text!r}: say ptz/dome/球机 or fixed/bullet/枪机 (or yes/no)")


def resolve_cameras(importer) -> None:
    """Defaults for missing values (reported), field of view from the lens, and a summary."""
    missing: dict[str, int] = {}
    for rec in importer.records:
        attrs = rec.attrs
        ptz = bool(attrs.get("ptz"))
        focal, sensor = attrs.pop("focal_length_mm", None), attrs.pop("sensor_width_mm", None)
        if attrs.get("fov_deg") is None and focal and sensor:
            attrs["fov_deg"] = round(fov_from_lens(focal, sensor), 2)
        attrs["focal_length_mm"], attrs["sensor_width_mm"] = focal, sensor
        defaulted = []
        for name, default in DEFAULTS.items():
            if attrs.get(name) is None:
                attrs[name] = default
                # A dome turns: its heading and field of view need no checking on site.
                if not (ptz and name in ("heading_deg", "fov_deg")):
                    defaulted.append(name)
                    missing[name] = missing.get(name, 0) + 1
        attrs["ptz"] = ptz
        for name in ("stream_url", "snapshot_url", "owner"):
            attrs[name] = attrs.get(name) or ""
        attrs["defaulted"] = defaulted
    for name, count in sorted(missing.items()):
        importer.report.warning(
            f"{count} camera(s) without {name}: {DEFAULTS[name]:g} assumed (listed on each "
            "camera as defaulted, to be checked on site)"
        )


LEVEL = Level(
    "camera",
    Camera,
    POINT,
    code_prefix="CAM",
    must_be_inside=False,
    outside_margin_m=200.0,
    fields={
        "heading_deg": to_heading,
        "fov_deg": _positive("a field of view", upper=360),
        "focal_length_mm": _positive("a focal length"),
        "sensor_width_mm": _positive("a sensor width"),
        "range_m": _positive("a range"),
        "mount_height_m": to_height,
        "ptz": to_ptz,
        "stream_url": to_text,
        "snapshot_url": to_text,
        "owner": to_text,
    },
    resolver=resolve_cameras,
    aliases=ALIASES,
)


def register() -> None:
    """Add the camera level to the district importer (CLI and admin import page)."""
    LEVELS.setdefault(LEVEL.name, LEVEL)


def osm_rows() -> list[dict]:
    """The surveillance points ``import_osm`` stored (PointOfInterest kind ``surveillance``) as
    rows for the camera importer: their tags (``key=value; …`` in the address) give heading,
    type and operator."""
    rows = []
    for poi in PointOfInterest.objects.filter(kind=PointOfInterest.Kind.SURVEILLANCE):
        tags = dict(part.split("=", 1) for part in poi.address.split("; ") if "=" in part)
        rows.append(
            {
                "code": f"OSM-{poi.code}",
                "name": poi.name or _("camera") + f" {poi.code}",
                "geom": poi.geom,
                "heading": tags.get("camera:direction") or tags.get("direction") or "",
                "type": tags.get("camera:type") or "",
                "height": tags.get("height") or "",
                "owner": tags.get("operator") or "",
            }
        )
    return rows
