"""``manage.py export_cases --out FILE``: the filtered cases as GeoJSON, GeoPackage, zipped
Shapefile, CSV or XLSX."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.commandline import add_filter_options, filter_params, run_to_file

SUFFIXES = {
    ".geojson": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shp",
    ".csv": "csv",
    ".xlsx": "xlsx",
}


class Command(BaseCommand):
    help = (
        "Export the cases matching the filters: .geojson (WGS-84), .gpkg (storage CRS), .zip "
        "(Shapefile; --shp-encoding utf-8 or gbk), .csv or .xlsx (WGS-84 经度/纬度), by --out's "
        "suffix or --format. A filter that matches nothing: exit status 1 and no file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="the file to write")
        parser.add_argument("--format", choices=sorted(set(SUFFIXES.values())))
        parser.add_argument("--crs", help="4326 or the storage CRS (gpkg, shp)")
        parser.add_argument("--shp-encoding", help="utf-8 (default) or gbk")
        add_filter_options(parser)

    def handle(self, *args, out: Path, **options):
        fmt = options["format"] or SUFFIXES.get(out.suffix.lower())
        if fmt is None:
            raise CommandError(
                f"--out {out.name}: unknown suffix; use one of {', '.join(SUFFIXES)}"
            )
        params = filter_params(options) | {"format": fmt}
        for name in ("crs", "shp_encoding"):
            if options.get(name):
                params[name] = options[name]
        summary, seconds = run_to_file("export", params, out)
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {summary['cases']:,} cases to {out} in {seconds:.1f} s.")
        )
