"""The coverage report (视频覆盖率报告): CSV, Excel or a self-contained HTML map.

The same writers serve ``manage.py coverage_report`` (the whole district) and the API download
(the user's scope). The HTML file carries Leaflet inline (from the django-leaflet package, as
the site serves it) and no tile layer, so it opens offline, e.g. attached to an e-mail: unit
grids coloured by coverage, blind spots in red, the viewsheds and the cameras.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass

from django.contrib.staticfiles import finders
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from gridmap.models import WGS84

from .coverage import Coverage, Target, coverage_targets

FORMATS = ("csv", "xlsx", "html")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


@dataclass
class ReportData:
    """What a report shows: the coverage and the targets of each level in the reader's scope."""

    coverage: Coverage
    grids: list[Target]
    communities: list[Target]
    roads: list[Target]
    #: Restricts the viewsheds drawn on the HTML map to those of these communities (None: all).
    community_ids: list[int] | None = None

    @property
    def levels(self) -> list[tuple[str, str, list[Target]]]:
        return [
            ("grid", _("Unit grids"), self.grids),
            ("community", _("Communities"), self.communities),
            ("road", _("Road segments"), self.roads),
        ]


def report_data(coverage: Coverage, *, community_id=None, subdistrict_id=None) -> ReportData:
    """The report's content limited to a scope (no limit: the district)."""
    scope = {"community_id": community_id, "subdistrict_id": subdistrict_id}
    grids = coverage_targets(coverage, "grid", **scope)
    communities = coverage_targets(coverage, "community", **scope)
    limited = community_id is not None or subdistrict_id is not None
    return ReportData(
        coverage=coverage,
        grids=grids,
        communities=communities,
        roads=coverage_targets(coverage, "road", **scope),
        community_ids=[t.id for t in communities] if limited else None,
    )


def _totals(targets: list[Target]) -> tuple[float, float, float]:
    size = sum(t.size for t in targets)
    covered = sum(t.covered for t in targets)
    return size, covered, (covered / size if size else 0.0)


def _row(level: str, t: Target) -> list:
    unit = "m" if level == "road" else "m2"
    return [
        level,
        t.code,
        t.name,
        t.community_name,
        round(t.size, 1),
        unit,
        round(t.covered, 1),
        round(100 * t.fraction, 1),
        round(t.blind_m2, 1) if level == "grid" else "",
    ]


HEADER = [
    "level",
    "code",
    "name",
    "community",
    "size",
    "unit",
    "covered",
    "coverage_pct",
    "blind_m2",
]


def write_csv(data: ReportData, out: io.BufferedIOBase) -> None:
    """One table of every grid, community and road segment (UTF-8 with a BOM, for Excel)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    for level, _title, targets in data.levels:
        for t in targets:
            writer.writerow(_row(level, t))
    out.write(text.getvalue().encode("utf-8-sig"))


def write_xlsx(data: ReportData, out: io.BufferedIOBase) -> None:
    """A summary sheet, then one sheet per level."""
    book = Workbook()
    summary = book.active
    summary.title = _("Summary")
    summary.append(
        [
            _("Video coverage report"),
            # Excel has no time zones: the local wall-clock time.
            timezone.localtime(data.coverage.computed_at).replace(tzinfo=None),
        ]
    )
    summary.append([_("Cameras with a viewshed"), data.coverage.cameras])
    for _level, title, targets in data.levels:
        size, covered, share = _totals(targets)
        summary.append([title, len(targets), round(size, 1), round(covered, 1), share])
        summary.cell(summary.max_row, 5).number_format = "0.0%"
    summary["A1"].font = Font(bold=True)
    for level, title, targets in data.levels:
        sheet = book.create_sheet(title[:31])
        sheet.append(HEADER)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for t in targets:
            sheet.append(_row(level, t))
        sheet.freeze_panes = "A2"
        for column, width in zip("ABCDEFGHI", (10, 18, 24, 16, 12, 6, 12, 12, 12), strict=True):
            sheet.column_dimensions[column].width = width
    book.save(out)


def _viewsheds_geojson(community_ids: list[int] | None) -> str:
    """The viewsheds (and camera points) as a GeoJSON FeatureCollection text, WGS-84."""
    scope = ""
    params: list = []
    if community_ids is not None:
        scope = (
            " AND EXISTS (SELECT FROM gridmap_community m WHERE m.id = ANY(%s)"
            " AND ST_Intersects(m.geom, c.viewshed_geom))"
        )
        params.append(community_ids)
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
               coalesce(json_agg(json_build_object(
                   'type', 'Feature',
                   'geometry', ST_AsGeoJSON(ST_Transform(c.viewshed_geom, {WGS84}), 6)::json,
                   'properties', json_build_object(
                       'code', c.code, 'name', c.name,
                       'at', ST_AsGeoJSON(ST_Transform(c.geom, {WGS84}), 6)::json))),
                   '[]'::json))::text
          FROM cameras_camera c
         WHERE c.viewshed_geom IS NOT NULL AND NOT ST_IsEmpty(c.viewshed_geom){scope}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _collection(targets: list[Target], *, blind: bool = False) -> str:
    features = []
    for t in targets:
        geometry = t.blind_geojson if blind else t.geojson
        if not geometry:
            continue
        props = json.dumps(
            {"code": t.code, "name": t.name, "coverage": round(t.fraction, 3)},
            ensure_ascii=False,
        )
        features.append(f'{{"type":"Feature","geometry":{geometry},"properties":{props}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def _asset(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise RuntimeError(f"static asset {path} not found (is django-leaflet installed?)")
    with open(found, encoding="utf-8") as f:
        return f.read()


def _json_script(text: str) -> str:
    # Inside <script>, "</" would end the element early.
    return text.replace("</", "<\\/")


_MAP_SCRIPT = """
const grids = JSON.parse(document.getElementById('grids').textContent);
const blind = JSON.parse(document.getElementById('blind').textContent);
const sheds = JSON.parse(document.getElementById('sheds').textContent);
const colour = (f) => f >= 0.8 ? '#1a9850' : f >= 0.6 ? '#91cf60' : f >= 0.4 ? '#fee08b'
  : f >= 0.2 ? '#fc8d59' : '#d73027';
const map = L.map('map');
// Vector layers need the map's view first: fit it to the grids, then draw.
const gridLayer = L.geoJSON(grids, {
  style: (f) => ({color: '#555', weight: 1, fillColor: colour(f.properties.coverage),
                  fillOpacity: 0.45}),
  onEachFeature: (f, layer) => layer.bindTooltip(
    `${f.properties.code} ${f.properties.name || ''}: ${Math.round(f.properties.coverage * 100)}%`),
});
if (gridLayer.getLayers().length) map.fitBounds(gridLayer.getBounds());
else map.setView([0, 0], 2);
gridLayer.addTo(map);
L.geoJSON(sheds, {style: {color: '#2b6cb0', weight: 0.5, fillOpacity: 0.15}}).addTo(map);
L.geoJSON(blind, {style: {color: '#222', weight: 0.5, fillColor: '#333', fillOpacity: 0.45}})
  .addTo(map);
for (const f of sheds.features) {
  const [lon, lat] = f.properties.at.coordinates;
  L.circleMarker([lat, lon], {radius: 2, color: '#1a365d'}).bindTooltip(f.properties.code)
    .addTo(map);
}
"""


def write_html(data: ReportData, out: io.BufferedIOBase) -> None:
    """A standalone page: the map (Leaflet inline, no tiles) and a table per community."""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(t.code)}</td><td>{esc(t.name)}</td><td>{t.size:,.0f}</td>"
        f"<td>{t.covered:,.0f}</td><td>{100 * t.fraction:.1f}%</td></tr>"
        for t in data.communities
    )
    summary = "".join(
        f"<li>{esc(title)}: {len(targets)}, {100 * _totals(targets)[2]:.1f}%</li>"
        for _level, title, targets in data.levels
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{esc(_("Video coverage report"))}</title>
<style>{_asset("leaflet/leaflet.css")}
body {{ font-family: sans-serif; margin: 1em; }} #map {{ height: 70vh; background: #f4f4f4; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: right; }}
</style></head><body>
<h1>{esc(_("Video coverage report"))}</h1>
<p>{esc(_("Computed at"))} {timezone.localtime(data.coverage.computed_at):%Y-%m-%d %H:%M};
{esc(_("cameras with a viewshed"))}: {data.coverage.cameras}.
<span style="color:#333">■</span> {esc(_("blind spots"))}</p>
<ul>{summary}</ul>
<div id="map"></div>
<table><thead><tr><th>{esc(_("Code"))}</th><th>{esc(_("Community"))}</th>
<th>{esc(_("Area (m²)"))}</th><th>{esc(_("Covered (m²)"))}</th><th>{esc(_("Coverage"))}</th>
</tr></thead><tbody>{rows}</tbody></table>
<script id="grids" type="application/json">{_json_script(_collection(data.grids))}</script>
<script id="blind" type="application/json">{
        _json_script(_collection(data.grids, blind=True))
    }</script>
<script id="sheds" type="application/json">{
        _json_script(_viewsheds_geojson(data.community_ids))
    }</script>
<script>{_asset("leaflet/leaflet.js")}</script>
<script>{_MAP_SCRIPT}</script>
</body></html>
"""
    out.write(page.encode("utf-8"))


WRITERS = {"csv": write_csv, "xlsx": write_xlsx, "html": write_html}


def write_report(data: ReportData, fmt: str, out: io.BufferedIOBase) -> None:
    """Write the report in ``fmt`` (one of ``FORMATS``) to the binary stream ``out``."""
    WRITERS[fmt](data, out)
