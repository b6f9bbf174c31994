"""``manage.py coverage_report --format csv|xlsx|html --out FILE``: the video coverage report."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cameras.coverage import coverage_current
from cameras.coverage_report import FORMATS, report_data, write_report


class Command(BaseCommand):
    help = (
        "Write the video coverage report (视频覆盖率) of the whole district: for each unit grid, "
        "community and road segment the share the camera viewsheds cover, and the blind spots. "
        "csv and xlsx are tables; html is a map that opens offline."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=FORMATS, help="default: from the file's suffix")
        parser.add_argument("--out", required=True, help="the file to write")

    def handle(self, *args, **opts):
        out = Path(opts["out"])
        fmt = opts["format"] or out.suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            raise CommandError(
                f"cannot tell the format of {out.name!r}: give --format ({', '.join(FORMATS)})"
            )
        if not out.parent.is_dir():
            raise CommandError(f"no such directory: {out.parent}")
        coverage = coverage_current()
        data = report_data(coverage)
        partial = out.with_name(out.name + ".part")
        with partial.open("wb") as f:
            write_report(data, fmt, f)
        partial.replace(out)
        grids = data.grids
        share = sum(t.covered for t in grids) / (sum(t.size for t in grids) or 1)
        self.stdout.write(
            f"{out}: {len(grids)} grid(s), {len(data.communities)} communit(y/ies), "
            f"{len(data.roads)} road segment(s); {coverage.cameras} camera(s), "
            f"grid area covered {100 * share:.1f}%"
        )
