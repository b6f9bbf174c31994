"""Heatmaps: the kernel density integrates to the number of cases, lands where they are, and
comes out as a PNG overlay with WGS-84 bounds, a GeoTIFF in the storage CRS, an offline HTML
map and JSON; bad parameters are refused with the parameter named."""

import io
import json
import re

import numpy as np
import pytest
import rasterio
from django.core.management import CommandError, call_command
from PIL import Image

from analysis.heatmap import HeatmapParams, kde_surface, kernel_weights
from gridmap.models import STORAGE_SRID
from tests.factories import ORIGIN, lonlat

from .helpers import CELL, SIDE, cases_add

URL = "/api/v1/analysis/heatmap"
RNG = np.random.default_rng(7)


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize("bandwidth", [40.0, 150.0, 333.0])
def test_kernel_sums_to_one_and_falls_off(kernel, bandwidth):
    weights = kernel_weights(HeatmapParams(cell_m=25, bandwidth_m=bandwidth, kernel=kernel))
    r = weights.shape[0] // 2
    assert weights.sum() == pytest.approx(1.0)
    assert weights[r, r] == weights.max()
    assert weights[r, r] > weights[r, r + 1] > weights[r, -1]


def test_surface_integrates_to_the_cases_and_peaks_at_the_cluster():
    """A cluster at (700, 300) plus noise: the surface holds every case and peaks there."""
    cluster = RNG.normal((ORIGIN[0] + 700, ORIGIN[1] + 300), 20, size=(500, 2))
    noise = RNG.uniform((ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 1000, ORIGIN[1] + 1000), (300, 2))
    xy = np.vstack([cluster, noise])
    extent = (ORIGIN[0], ORIGIN[1], ORIGIN[0] + 1000, ORIGIN[1] + 1000)
    raster = kde_surface(xy[:, 0], xy[:, 1], extent=extent, params=HeatmapParams())
    assert raster.count == 800
    assert raster.integral() == pytest.approx(800, rel=1e-4)
    row, col = np.unravel_index(np.argmax(raster.values), raster.shape)
    x = raster.x0 + (col + 0.5) * raster.cell_m - ORIGIN[0]
    y = raster.y1 - (row + 0.5) * raster.cell_m - ORIGIN[1]
    assert abs(x - 700) < 40 and abs(y - 300) < 40


def _scatter(lattice, n=400):
    cluster = np.clip(RNG.normal((250, 750), 30, size=(n, 2)), 1, SIDE * CELL - 1)
    noise = RNG.uniform(1, SIDE * CELL - 1, size=(n // 2, 2))
    cases_add(lattice, cluster)
    cases_add(lattice, noise, category=lattice["litter"], source="hotline")
    return n + n // 2


@pytest.mark.django_db
def test_geotiff_holds_every_filtered_case(lattice, client_for):
    total = _scatter(lattice)
    client = client_for("planner")
    response = client.get(URL, {"format": "tiff", "cell_m": "20", "bandwidth_m": "100"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/tiff"
    with rasterio.MemoryFile(response.content) as memory, memory.open() as tiff:
        assert tiff.crs.to_epsg() == STORAGE_SRID
        assert tiff.res == (20.0, 20.0)
        density = tiff.read(1)
        assert tiff.tags()["cases"] == str(total)
    assert density.sum(dtype=np.float64) * (20 / 1000) ** 2 == pytest.approx(total, rel=1e-3)
    # Filtered to the hotline's litter cases only: a different, smaller surface.
    response = client.get(URL, {"format": "tiff", "source": "hotline"})
    with rasterio.MemoryFile(response.content) as memory, memory.open() as tiff:
        cell = tiff.res[0]
        assert tiff.read(1).sum(dtype=np.float64) * (cell / 1000) ** 2 == pytest.approx(200, 1e-3)


@pytest.mark.django_db
def test_png_overlay_with_wgs84_bounds_around_the_district(lattice, client_for):
    _scatter(lattice)
    response = client_for("evaluator").get(URL, {"format": "json"})
    assert response.status_code == 200
    body = response.json()
    (south, west), (north, east) = body["bounds"]
    lon0, lat0 = lonlat(0, 0)
    lon1, lat1 = lonlat(SIDE * CELL, SIDE * CELL)
    assert west < lon0 < lon1 < east and south < lat0 < lat1 < north
    # Padded by the kernel's reach, not more than a few hundred metres.
    assert east - lon1 < 0.005 and north - lat1 < 0.005
    png = Image.open(io.BytesIO(__import__("base64").b64decode(body["image"].split(",")[1])))
    assert png.mode == "RGBA"
    alpha = np.asarray(png)[..., 3]
    assert (alpha == 0).any() and (alpha > 0).any()  # transparent where there is nothing
    response = client_for("commander").get(URL)  # png by default
    assert response["Content-Type"] == "image/png"
    assert json.loads(response["X-Bounds"]) == body["bounds"]


@pytest.mark.django_db
def test_html_map_loads_nothing_from_the_network(lattice, client_for):
    _scatter(lattice)
    response = client_for("planner").get(URL, {"format": "html"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'attachment; filename="heatmap.html"' in response["Content-Disposition"]
    # No script, style sheet or image comes from elsewhere (Leaflet is inlined) …
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", html)
    assert "L.map(" in html and "data:image/png;base64," in html
    # … and no tile layer: the district's own communities are drawn instead.
    assert "L.tileLayer(" not in html
    for name in ("西社区", "东社区"):
        assert name in html or json.dumps(name)[1:-1] in html


BAD = [
    ({"bandwidth_m": "0"}, "bandwidth_m", "more than 0"),
    ({"bandwidth_m": "-5"}, "bandwidth_m", "more than 0"),
    ({"bandwidth_m": "5000"}, "bandwidth_m", "larger than the area"),
    ({"bandwidth_m": "abc"}, "bandwidth_m", "not a number"),
    ({"cell_m": "300"}, "cell_m", "larger than the bandwidth"),
    ({"cell_m": "0.1"}, "cell_m", "at least"),
    ({"kernel": "epanechnikov"}, "kernel", "unknown kernel"),
    ({"format": "jpeg"}, "format", "unknown format"),
    ({"units": "feet"}, "units", "unknown parameter"),
    ({"reported_after": "2026-03-01", "reported_before": "2026-02-01"}, "reported_before", "empty"),
    ({"reported_after": "2026-03-01", "reported_before": "2026-03-01"}, "reported_before", "empty"),
    ({"reported_after": "yesterday"}, "reported_after", "ISO 8601"),
    ({"category": "E0000"}, "category", "unknown category"),
    ({"stage": "finished"}, "stage", "unknown value"),
    ({"community": "999999999999"}, "community", "unknown community"),
    ({"reported_after": "2030-01-01"}, "filters", "no case matches"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field", "words"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(lattice, client_for, params, field, words):
    _scatter(lattice, n=40)
    response = client_for("planner").get(URL, params)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])


@pytest.mark.django_db
def test_command_writes_the_file_or_nothing(lattice, tmp_path):
    _scatter(lattice, n=60)
    out = tmp_path / "heat.tif"
    stdout = io.StringIO()
    call_command("heatmap", out=out, category=["E9801"], stdout=stdout)
    assert "60 cases" in stdout.getvalue()
    with rasterio.open(out) as tiff:
        assert tiff.read(1).sum() * (tiff.res[0] / 1000) ** 2 == pytest.approx(60, rel=1e-3)
    empty = tmp_path / "empty.png"
    with pytest.raises(CommandError, match="no case matches"):
        call_command("heatmap", out=empty, reported_before="2020-01-01")
    with pytest.raises(CommandError, match="bandwidth_m"):
        call_command("heatmap", out=empty, bandwidth_m="0")
    assert not empty.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["heat.tif"]  # no temporary left behind
