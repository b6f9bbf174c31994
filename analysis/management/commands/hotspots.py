"""``manage.py hotspots --out FILE.geojson``: Getis-Ord Gi* hotspots (热点) per unit grid or H3
hexagon."""

from pathlib import Path

from django.core.management.base import BaseCommand

from analysis.commandline import add_filter_options, filter_params, run_to_file


class Command(BaseCommand):
    help = (
        "Getis-Ord Gi* hotspots of case counts per unit grid (--unit grids) or H3 hexagon "
        "(--unit h3 --resolution 10), with the filters; analytic p-values unless "
        "--permutations N; --fdr for the false-discovery-rate correction; weekly Mann-Kendall "
        "trend labels (new, intensifying, persistent, diminishing, sporadic). Writes GeoJSON "
        "in WGS-84 and prints the classes. Bad input: exit status 1 and no file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="the GeoJSON file to write")
        parser.add_argument("--unit", help="grids (default) or h3")
        parser.add_argument("--resolution", help="H3 resolution, 6-12 (default 10)")
        parser.add_argument("--permutations", help="0 (analytic p-values, default) or e.g. 999")
        parser.add_argument("--fdr", action="store_true", help="false discovery rate correction")
        parser.add_argument("--no-trend", action="store_true", help="skip the weekly trends")
        add_filter_options(parser)

    def handle(self, *args, out: Path, **options):
        params = filter_params(options)
        for name in ("unit", "resolution", "permutations"):
            if options.get(name) is not None:
                params[name] = options[name]
        params["fdr"] = "true" if options["fdr"] else "false"
        params["trend"] = "false" if options["no_trend"] else "true"
        summary, seconds = run_to_file("hotspots", params, out)
        self.stdout.write(
            f"{summary['cases']:,} cases in {summary['cells']:,} cells ({summary['unit']}), "
            f"{summary['weeks']} weeks"
        )
        for name, n in summary["classes"].items():
            self.stdout.write(f"  {name:<16} {n:>6,}")
        for name, n in sorted(summary["labels"].items()):
            self.stdout.write(f"  {name:<16} {n:>6,}")
        self.stdout.write(self.style.SUCCESS(f"Wrote {out} in {seconds:.1f} s."))
