"""Analyses as one call each, for the API, the commands and the Celery jobs alike.

Each takes the request's parameters as plain strings (a query string, command-line options or
a job's stored parameters), checks them (``AnalysisInputError`` names the bad one), narrows the
cases to the user's area, computes, and returns a ``Result``: bytes with a file name and a
content type, or a JSON-able value. ``progress(fraction, message)`` is called along the way
(the jobs record it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.contrib.gis.db.models.functions import Transform
from django.utils.translation import gettext as _

from gridmap.models import Community

from .exports import cases_export, export_params_parse
from .heatmap import heatmap_params_parse, kde_surface
from .hotspots import (
    cells_count,
    hotspot_params_parse,
    hotspots_compute,
    hotspots_geojson,
    hotspots_summary,
)
from .rendering import png_json, raster_geotiff, raster_html, raster_png
from .selection import (
    AnalysisInputError,
    cases_points,
    selection_cases,
    selection_extent,
    selection_parse,
)

Progress = Callable[[float, str], object]
KINDS = ("heatmap", "hotspots", "export")
HEATMAP_FORMATS = ("png", "tiff", "html", "json")
HEATMAP_PARAMS = ("cell_m", "bandwidth_m", "kernel", "format")
HOTSPOT_PARAMS = ("unit", "resolution", "permutations", "fdr", "trend")
EXPORT_PARAMS = ("format", "crs", "shp_encoding")
PARAMS = {"heatmap": HEATMAP_PARAMS, "hotspots": HOTSPOT_PARAMS, "export": EXPORT_PARAMS}


def _no_progress(fraction: float, message: str) -> None:
    return None


@dataclass(frozen=True)
class Result:
    """What an analysis produced: ``content`` (bytes) with a file name and content type, and
    a short summary (cases, cells…) for a job's record."""

    content: bytes
    filename: str
    content_type: str
    summary: dict


def _one(params: Mapping, name: str) -> str | None:
    value = params.getlist(name) if hasattr(params, "getlist") else params.get(name)
    if isinstance(value, list | tuple):
        if len(value) > 1:
            raise AnalysisInputError(name, _("give one value"))
        value = value[0] if value else None
    return None if value is None else str(value)


def _outlines(selection) -> list[dict]:
    """The communities analysed as GeoJSON features in WGS-84 (the HTML map's backdrop)."""
    ids = selection.community_ids or (
        (selection.scope_community_id,) if selection.scope_community_id else ()
    )
    communities = Community.objects.all()
    if ids:
        communities = communities.filter(pk__in=ids)
    out = []
    for c in communities.annotate(g=Transform("geom", 4326)):
        out.append(
            {"type": "Feature", "geometry": json.loads(c.g.geojson), "properties": {"name": c.name}}
        )
    return out


def heatmap_run(params: Mapping, *, user=None, progress: Progress = _no_progress) -> Result:
    """Kernel density of the selected cases as ``format`` (png, tiff, html, json)."""
    selection = selection_parse(params, user=user, allowed=HEATMAP_PARAMS)
    fmt = _one(params, "format") or "png"
    if fmt not in HEATMAP_FORMATS:
        raise AnalysisInputError(
            "format",
            _("unknown format %(f)r; known: %(k)s") % {"f": fmt, "k": ", ".join(HEATMAP_FORMATS)},
        )
    extent = selection_extent(selection)
    options = heatmap_params_parse(
        cell_m=_one(params, "cell_m"),
        bandwidth_m=_one(params, "bandwidth_m"),
        kernel=_one(params, "kernel"),
        extent=extent,
    )
    progress(0.1, "reading cases")
    x, y = cases_points(selection_cases(selection, user=user))
    if not len(x):
        raise AnalysisInputError("filters", _("no case matches these filters: no heatmap"))
    progress(0.5, f"kernel density of {len(x):,} cases")
    raster = kde_surface(x, y, extent=extent, params=options)
    progress(0.7, f"writing {fmt}")
    summary = {
        "cases": raster.count,
        "width": raster.shape[1],
        "height": raster.shape[0],
        "cell_m": options.cell_m,
        "bandwidth_m": options.bandwidth_m,
        "kernel": options.kernel,
        "filters": selection.describe(),
    }
    if fmt == "png":
        png, bounds, top = raster_png(raster)
        summary |= {"bounds": bounds, "max_density_per_km2": round(top, 3)}
        return Result(png, "heatmap.png", "image/png", summary)
    if fmt == "tiff":
        return Result(raster_geotiff(raster), "heatmap.tif", "image/tiff", summary)
    if fmt == "html":
        legend = _(
            "Cases per km² (%(kernel)s kernel, bandwidth %(b).0f m, %(n)s cases); darker red: "
            "denser, up to %(top).0f"
        ) % {
            "kernel": options.kernel,
            "b": options.bandwidth_m,
            "n": f"{raster.count:,}",
            "top": float(raster.values.max()),
        }
        html = raster_html(
            raster, title=_("Heatmap of cases"), outlines=_outlines(selection), legend=legend
        )
        return Result(html.encode(), "heatmap.html", "text/html; charset=utf-8", summary)
    body = png_json(raster) | {"filters": selection.describe()}
    return Result(
        json.dumps(body, ensure_ascii=False).encode(), "heatmap.json", "application/json", summary
    )


def hotspots_run(params: Mapping, *, user=None, progress: Progress = _no_progress) -> Result:
    """Gi* hotspots of the selected cases as GeoJSON (WGS-84)."""
    selection = selection_parse(params, user=user, allowed=HOTSPOT_PARAMS)
    options = hotspot_params_parse(**{k: _one(params, k) for k in HOTSPOT_PARAMS})
    progress(0.1, "counting cases per cell")
    cells = cells_count(selection, options, user=user)
    progress(0.4, f"Gi* over {len(cells.ids):,} cells")
    result = hotspots_compute(cells, options)
    extra = {"filters": selection.describe()}
    text = hotspots_geojson(result, extra=extra)
    summary = hotspots_summary(result) | extra
    return Result(text.encode(), "hotspots.geojson", "application/geo+json", summary)


def export_run(params: Mapping, *, user=None, progress: Progress = _no_progress) -> Result:
    """The selected cases as a file (geojson, gpkg, shp zip, csv, xlsx)."""
    selection = selection_parse(params, user=user, allowed=EXPORT_PARAMS)
    options = export_params_parse(**{k: _one(params, k) for k in EXPORT_PARAMS})
    exported = cases_export(selection_cases(selection, user=user), options, progress=progress)
    summary = {"cases": exported.rows, "format": options.format, "filters": selection.describe()}
    return Result(exported.content, exported.filename, exported.content_type, summary)


RUNNERS = {"heatmap": heatmap_run, "hotspots": hotspots_run, "export": export_run}


def analysis_run(
    kind: str, params: Mapping, *, user=None, progress: Progress = _no_progress
) -> Result:
    """Run the analysis ``kind`` (heatmap, hotspots, export)."""
    if kind not in RUNNERS:
        raise AnalysisInputError(
            "kind",
            _("unknown kind %(k)r; known: %(known)s") % {"k": kind, "known": ", ".join(KINDS)},
        )
    return RUNNERS[kind](params, user=user, progress=progress)


def analysis_check(kind: str, params: Mapping, *, user=None) -> int:
    """Check every parameter of an analysis without running it; returns how many cases it
    covers. Raises as the analysis would (``AnalysisInputError`` …), and for a selection
    that matches nothing."""
    if kind not in RUNNERS:
        raise AnalysisInputError(
            "kind",
            _("unknown kind %(k)r; known: %(known)s") % {"k": kind, "known": ", ".join(KINDS)},
        )
    selection = selection_parse(params, user=user, allowed=PARAMS[kind])
    if kind == "heatmap":
        fmt = _one(params, "format") or "png"
        if fmt not in HEATMAP_FORMATS:
            raise AnalysisInputError("format", _("unknown format %(f)r") % {"f": fmt})
        heatmap_params_parse(
            cell_m=_one(params, "cell_m"),
            bandwidth_m=_one(params, "bandwidth_m"),
            kernel=_one(params, "kernel"),
            extent=selection_extent(selection),
        )
    elif kind == "hotspots":
        hotspot_params_parse(**{k: _one(params, k) for k in HOTSPOT_PARAMS})
    else:
        export_params_parse(**{k: _one(params, k) for k in EXPORT_PARAMS})
    count = selection_cases(selection, user=user).count()
    if count == 0:
        raise AnalysisInputError("filters", _("no case matches these filters"))
    return count
