"""``manage.py import_components FILE``: import city components (部件) with standard codes."""

from django.core.management.base import BaseCommand, CommandError

from gridmap.importing import ImportOptions, import_file

from .import_district import parse_field_mappings, progress_bar


class Command(BaseCommand):
    help = (
        "Import city components (部件: manhole covers, street lamps, bins…) from CSV/Excel "
        "(lon/lat columns, e.g. taken by a phone app in GCJ-02: --srs gcj02) or any GIS file. "
        "Codes follow GRIDMAP_COMPONENT_CODE_LAYOUT (default 6+2+2+6 digits); the class comes "
        "from the code or a class column; probable duplicates are reported. All-or-nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--layer")
        parser.add_argument(
            "--srs", help="EPSG code, gcj02 or bd09 (default: the file's CRS, else WGS-84)"
        )
        parser.add_argument("--code-field", default="code")
        parser.add_argument("--name-field", default="name")
        parser.add_argument(
            "--class-field",
            help="column with the class code (0101) or name "
            "(上水井盖); default: the class digits of the code",
        )
        parser.add_argument(
            "--owner-field",
            help="column with the owner unit (a department code or name, or another unit's name)",
        )
        parser.add_argument(
            "--condition-field",
            help="column with the condition "
            "(good/damaged/missing/removed or 完好/损坏/丢失/已拆除)",
        )
        parser.add_argument("--field", action="append", default=[], metavar="NAME=COLUMN")
        parser.add_argument("--lon-field")
        parser.add_argument("--lat-field")
        parser.add_argument(
            "--replace", action="store_true", help="also delete components the file no longer has"
        )
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **opts):
        fields = parse_field_mappings(opts["field"])
        for attr, option in (
            ("class", "class_field"),
            ("owner", "owner_field"),
            ("condition", "condition_field"),
        ):
            if opts[option]:
                fields[attr] = opts[option]
        options = ImportOptions(
            level="component",
            layer=opts["layer"],
            srs=opts["srs"],
            code_field=opts["code_field"],
            name_field=opts["name_field"],
            fields=fields,
            lon_field=opts["lon_field"],
            lat_field=opts["lat_field"],
            dry_run=opts["dry_run"],
            replace=opts["replace"],
        )
        report = import_file(opts["file"], options, progress=progress_bar)
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            first = f": {report.errors[0]}" if len(report.errors) == 1 else " (see above)"
            raise CommandError(f"{len(report.errors)} error(s), nothing was written{first}")
