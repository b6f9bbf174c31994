"""``manage.py heatmap --out FILE``: kernel density of cases (热力图) as PNG, GeoTIFF, HTML or
JSON."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.commandline import add_filter_options, filter_params, run_to_file

SUFFIXES = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".html": "html", ".json": "json"}


class Command(BaseCommand):
    help = (
        "Kernel density (heatmap) of the cases matching the filters, in cases per km², computed "
        "in the storage CRS: a PNG overlay (its WGS-84 bounds are printed), a GeoTIFF, a "
        "self-contained HTML map (works offline) or JSON. The format follows --out's suffix "
        "(.png, .tif, .html, .json) unless --format says otherwise. Bad input or a filter that "
        "matches nothing: exit status 1 and no file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="the file to write")
        parser.add_argument("--format", choices=["png", "tiff", "html", "json"])
        parser.add_argument("--cell-m", help="cell size in metres (default 25)")
        parser.add_argument("--bandwidth-m", help="bandwidth in metres (default 150)")
        parser.add_argument("--kernel", help="quartic (default) or gaussian")
        add_filter_options(parser)

    def handle(self, *args, out: Path, **options):
        fmt = options["format"] or SUFFIXES.get(out.suffix.lower())
        if fmt is None:
            raise CommandError(
                f"--out {out.name}: unknown suffix; use .png, .tif, .html or .json, or --format"
            )
        params = filter_params(options) | {"format": fmt}
        for name in ("cell_m", "bandwidth_m", "kernel"):
            if options.get(name) is not None:
                params[name] = options[name]
        summary, seconds = run_to_file("heatmap", params, out)
        self.stdout.write(
            f"{summary['cases']:,} cases, {summary['width']}×{summary['height']} cells of "
            f"{summary['cell_m']:g} m, {summary['kernel']} kernel, bandwidth "
            f"{summary['bandwidth_m']:g} m"
        )
        if "bounds" in summary:
            self.stdout.write(
                f"bounds (WGS-84 [[south, west], [north, east]]): {summary['bounds']}"
            )
        self.stdout.write(self.style.SUCCESS(f"Wrote {out} in {seconds:.1f} s."))
