"""``manage.py import_district --level LEVEL FILE``: import areas, zones or base geography."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gridmap.importing import LEVELS, ImportOptions, import_file


def parse_field_mappings(values: list[str]) -> dict[str, str]:
    """``["holder=SHOP", "contact=TEL"]`` → ``{"holder": "SHOP", "contact": "TEL"}``."""
    mapping = {}
    for value in values or []:
        name, sep, column = value.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise CommandError(f"--field {value!r}: expected NAME=COLUMN, e.g. holder=店名")
        mapping[name.strip()] = column.strip()
    return mapping


def progress_bar(iterable, *, total=None, desc=""):
    """A tqdm bar on a terminal, nothing otherwise (logs stay readable)."""
    return tqdm(iterable, total=total, desc=desc, disable=not sys.stderr.isatty(), leave=False)


class Command(BaseCommand):
    help = (
        "Import a district's geography from GeoJSON, Shapefile (also zipped), GeoPackage, KML or "
        "CSV/Excel with lon/lat columns: checks everything first, then writes all-or-nothing "
        "and prints a report (every problem with its feature id)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the file to import")
        parser.add_argument(
            "--level", required=True, choices=sorted(LEVELS), help="what the file holds"
        )
        parser.add_argument("--layer", help="layer of a multi-layer file (GeoPackage, KML)")
        parser.add_argument(
            "--srs",
            help="the coordinates' CRS: an EPSG code, gcj02 or bd09 "
            "(default: the file's own CRS, else WGS-84)",
        )
        parser.add_argument("--code-field", default="code", help="column of the codes")
        parser.add_argument("--name-field", default="name", help="column of the names")
        parser.add_argument(
            "--parent-field",
            help="column of the parent's code (default: the parent is found by location)",
        )
        parser.add_argument("--kind", help="zone kind: frontage, subcontract, jurisdiction, patrol")
        parser.add_argument(
            "--field",
            action="append",
            default=[],
            metavar="NAME=COLUMN",
            help="another attribute from a column (repeatable), e.g. "
            "holder=店名, road_class=等级, floors=层数",
        )
        parser.add_argument("--lon-field", help="CSV/Excel: the longitude column")
        parser.add_argument("--lat-field", help="CSV/Excel: the latitude column")
        parser.add_argument(
            "--tolerance",
            type=float,
            help="metres a child may stick out of its parent (default GRIDMAP_NESTING_TOLERANCE_M)",
        )
        parser.add_argument(
            "--repair",
            action="store_true",
            help="repair invalid geometry with make_valid (and say what changed)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="also delete what the file no longer has (of this level/kind)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report only; write nothing"
        )

    def handle(self, *args, **opts):
        options = ImportOptions(
            level=opts["level"],
            layer=opts["layer"],
            srs=opts["srs"],
            code_field=opts["code_field"],
            name_field=opts["name_field"],
            parent_field=opts["parent_field"],
            kind=opts["kind"],
            fields=parse_field_mappings(opts["field"]),
            lon_field=opts["lon_field"],
            lat_field=opts["lat_field"],
            dry_run=opts["dry_run"],
            replace=opts["replace"],
            repair=opts["repair"],
            tolerance_m=opts["tolerance"],
        )
        report = import_file(opts["file"], options, progress=progress_bar)
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            first = f": {report.errors[0]}" if len(report.errors) == 1 else " (see above)"
            raise CommandError(f"{len(report.errors)} error(s), nothing was written{first}")
