"""``manage.py import_osm FILE.osm.pbf [--bbox minlon,minlat,maxlon,maxlat]``: base geography
(roads, buildings, water, points of interest) from an OpenStreetMap extract."""

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gridmap.importing.osm import LAYERS, OsmImportError, osm_import, parse_bbox

#: How many problems (repaired geometries) each layer's report lists before "… and N more".
SHOWN_PROBLEMS = 10


class Command(BaseCommand):
    help = (
        "Import roads (cut into segments between junctions), buildings, water and points of "
        "interest (surveillance cameras among them) from an OpenStreetMap extract (.osm.pbf) "
        "into the storage CRS. All-or-nothing; codes come from OSM ids (osm-w123-0, osm-n987, "
        "osm-r55), so importing again updates rows instead of duplicating them."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the OpenStreetMap extract (.osm.pbf)")
        parser.add_argument(
            "--bbox",
            metavar="MINLON,MINLAT,MAXLON,MAXLAT",
            help="import only this box (WGS-84 degrees); roads and water are cut at its edges. "
            "Write --bbox=-74.1,40.6,-73.9,40.8 when it starts with a minus sign.",
        )

    def handle(self, *args, file: str, bbox: str | None, **options):
        started = time.perf_counter()
        # Progress bars go to stderr on a terminal only; the summary to stdout.
        progress = sys.stderr if sys.stderr.isatty() else None
        try:
            box = parse_bbox(bbox) if bbox is not None else None
            result = osm_import(file, bbox=box, progress=progress)
        except OsmImportError as exc:
            raise CommandError(f"Nothing was imported: {exc}") from exc
        for report in result.reports.values():
            for line in report.lines(limit=SHOWN_PROBLEMS):
                self.stdout.write(line)
        width = max(len(layer) for layer in LAYERS)
        header = ("layer", "created", "updated", "repaired", "skipped")
        self.stdout.write(f"{header[0]:<{width}}" + "".join(f"  {h:>8}" for h in header[1:]))
        for layer, report in result.reports.items():
            counts = (
                report.created,
                report.updated,
                len(report.warnings),
                sum(result.skipped[layer].values()),
            )
            self.stdout.write(f"{layer:<{width}}" + "".join(f"  {n:>8}" for n in counts))
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {file} into EPSG:{settings.GRIDMAP_SRID} "
                f"in {time.perf_counter() - started:.1f} s."
            )
        )
