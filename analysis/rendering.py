"""What a heatmap is handed out as: a PNG overlay with its WGS-84 bounds, a GeoTIFF, a folium
HTML map that works offline.

The PNG is for web maps: Leaflet stretches an image overlay linearly between its corners in
Web Mercator, so the density (computed in the storage CRS, whose grid is slightly rotated
against north there) is warped to EPSG:3857 first and its bounds are given in WGS-84. The
GeoTIFF keeps the density as computed (float32, cases per km², storage CRS) for GIS work.

The HTML map is one self-contained file: Leaflet's script and style sheet (from django-leaflet's
static files, the copy the platform's own pages use) are written into it, the overlay is a
``data:`` URL, and there is no tile layer — the district's own boundaries are drawn instead —
so it opens from a USB stick on a machine without network (folium's default page loads a dozen
files from CDNs).
"""

from __future__ import annotations

import base64
import io
import json

import folium
import numpy as np
import rasterio
from django.contrib.staticfiles import finders
from matplotlib import colormaps
from PIL import Image
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from rasterio.warp import Resampling, calculate_default_transform, reproject

from .crs import transformer
from .heatmap import Raster

WEB_MERCATOR = 3857
COLORMAP = "YlOrRd"
#: Leaflet as django-leaflet ships it (the platform serves the same files at /static/leaflet/).
LEAFLET_JS = "leaflet/leaflet.js"
LEAFLET_CSS = "leaflet/leaflet.css"


def raster_geotiff(raster: Raster) -> bytes:
    """The density as a single-band float32 GeoTIFF in the storage CRS (deflate-compressed),
    tagged with its unit, kernel, bandwidth and case count."""
    rows, cols = raster.shape
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": f"EPSG:{raster.srid}",
        "transform": from_origin(raster.x0, raster.y1, raster.cell_m, raster.cell_m),
        "compress": "deflate",
        "nodata": None,
    }
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(raster.values, 1)
            dataset.update_tags(
                units="cases per km2",
                kernel=raster.params.kernel,
                bandwidth_m=str(raster.params.bandwidth_m),
                cell_m=str(raster.params.cell_m),
                cases=str(raster.count),
            )
            dataset.set_band_description(1, "density (cases per km2)")
        return memory.read()


def _to_web_mercator(raster: Raster) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The density warped to EPSG:3857 (bilinear) and the warped image's 3857 bounds."""
    rows, cols = raster.shape
    src_transform = from_origin(raster.x0, raster.y1, raster.cell_m, raster.cell_m)
    src_crs = rasterio.crs.CRS.from_epsg(raster.srid)
    dst_crs = rasterio.crs.CRS.from_epsg(WEB_MERCATOR)
    transform, width, height = calculate_default_transform(
        src_crs, dst_crs, cols, rows, *raster.bounds
    )
    warped = np.zeros((height, width), dtype=np.float32)
    reproject(
        source=raster.values,
        destination=warped,
        src_transform=src_transform,
        src_crs=src_crs,
        dst_transform=transform,
        dst_crs=dst_crs,
        resampling=Resampling.bilinear,
        src_nodata=None,
        dst_nodata=0,
    )
    west, north = transform.c, transform.f
    east, south = west + width * transform.a, north + height * transform.e
    return warped, (west, south, east, north)


def _colorize(values: np.ndarray, top: float) -> np.ndarray:
    """RGBA pixels: the colour map over 0..top, transparent where there is (almost) nothing,
    more opaque where denser."""
    scaled = np.clip(values / top, 0, 1) if top > 0 else np.zeros_like(values)
    rgba = colormaps[COLORMAP](scaled, bytes=True)
    alpha = np.where(scaled < 0.04, 0, 90 + 140 * np.sqrt(scaled))
    rgba[..., 3] = alpha.astype(np.uint8)
    return rgba


def raster_png(raster: Raster) -> tuple[bytes, list[list[float]], float]:
    """The overlay: PNG bytes, its bounds ``[[south, west], [north, east]]`` in WGS-84 degrees
    (as Leaflet's ``imageOverlay`` takes them) and the density shown at full colour (the
    maximum, cases per km², for the legend)."""
    warped, (west, south, east, north) = _to_web_mercator(raster)
    top = float(raster.values.max())
    image = Image.fromarray(_colorize(warped, top), mode="RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    to_wgs84 = transformer(WEB_MERCATOR, 4326)
    lon0, lat0 = to_wgs84.transform(west, south)
    lon1, lat1 = to_wgs84.transform(east, north)
    bounds = [[round(lat0, 7), round(lon0, 7)], [round(lat1, 7), round(lon1, 7)]]
    return buffer.getvalue(), bounds, top


def _static_text(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise RuntimeError(f"static file {path} not found (is django-leaflet installed?)")
    with open(found, encoding="utf-8") as handle:
        return handle.read()


class OfflineMap(folium.Map):
    """A folium map without CDN resources: only Leaflet, written into the page by
    ``offline_html``; no jQuery, Bootstrap or icon fonts (nothing here needs them)."""

    default_js = [("leaflet", "gridmap-inline:" + LEAFLET_JS)]
    default_css = [("leaflet_css", "gridmap-inline:" + LEAFLET_CSS)]


def offline_html(figure_html: str) -> str:
    """Replace the placeholder links of ``OfflineMap`` by the files' contents."""
    js = _static_text(LEAFLET_JS).replace("</script", "<\\/script")
    css = _static_text(LEAFLET_CSS)
    html = figure_html.replace(
        f'<script src="gridmap-inline:{LEAFLET_JS}"></script>', f"<script>{js}</script>"
    )
    html = html.replace(
        f'<link rel="stylesheet" href="gridmap-inline:{LEAFLET_CSS}"/>', f"<style>{css}</style>"
    )
    if "gridmap-inline:" in html:
        raise RuntimeError("folium's page layout changed: an asset was not inlined")
    return html


def raster_html(raster: Raster, *, title: str, outlines: list[dict], legend: str) -> str:
    """A self-contained HTML map: the overlay on the given outlines (GeoJSON features in
    WGS-84, e.g. the district and its communities) with a small legend, no tiles, no
    network."""
    png, bounds, _top = raster_png(raster)
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    fmap = OfflineMap(location=centre, tiles=None, zoom_start=14, control_scale=True)
    fmap.get_root().title = title
    if outlines:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": outlines},
            name="areas",
            style_function=lambda f: {"color": "#555", "weight": 1, "fillOpacity": 0.03},
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)
            if all("name" in (f.get("properties") or {}) for f in outlines)
            else None,
        ).add_to(fmap)
    folium.raster_layers.ImageOverlay(
        image="data:image/png;base64," + base64.b64encode(png).decode(),
        bounds=bounds,
        name="heatmap",
        opacity=0.85,
    ).add_to(fmap)
    fmap.fit_bounds(bounds)
    legend_html = (
        '<div style="position:fixed;top:12px;right:12px;z-index:1000;background:#fff;'
        'padding:6px 10px;border:1px solid #999;font:12px sans-serif">'
        f"{legend}</div>"
    )
    fmap.get_root().html.add_child(folium.Element(legend_html))
    return offline_html(fmap.get_root().render())


def png_json(raster: Raster) -> dict:
    """The overlay as JSON for a web map: a ``data:`` URL, its bounds and the figures."""
    png, bounds, top = raster_png(raster)
    return {
        "image": "data:image/png;base64," + base64.b64encode(png).decode(),
        "bounds": bounds,
        "max_density_per_km2": round(top, 3),
        "cases": raster.count,
        "cell_m": raster.params.cell_m,
        "bandwidth_m": raster.params.bandwidth_m,
        "kernel": raster.params.kernel,
        "width": raster.shape[1],
        "height": raster.shape[0],
    }


def json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
