"""``manage.py load_demo``: load the demo district (明湖街道) from ``fixtures/geo``."""

import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gridmap.demo.history import history_load
from gridmap.demo.loader import DemoDataError, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo district (明湖街道, Zhengzhou ETDZ) from its GeoJSON files: areas, grids, "
        "zones, roads, buildings, water, points of interest, construction sites, components, "
        "departments, teams and demo accounts. All-or-nothing; running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--directory",
            type=Path,
            default=Path(settings.BASE_DIR) / "fixtures" / "geo",
            help="directory of the demo files (default: fixtures/geo)",
        )
        parser.add_argument(
            "--history",
            nargs="?",
            type=Path,
            const=Path(settings.BASE_DIR) / "fixtures" / "history",
            default=None,
            metavar="DIR",
            help="also import the demo's year of closed cases (default DIR: fixtures/history) "
            "with import_cases's importer; cases imported before are skipped",
        )

    def handle(self, *args, directory: Path, history: Path | None = None, **options):
        started = time.perf_counter()
        try:
            # Progress bars go to stderr (shown on a terminal only); the summary to stdout.
            counts = demo_load(directory=directory, stdout=sys.stderr)
        except DemoDataError as exc:
            raise CommandError(
                f"The demo district was not loaded (nothing written): {exc}"
            ) from exc
        elapsed = time.perf_counter() - started
        width = max(len(k) for k in counts)
        self.stdout.write(f"{'layer':<{width}}  {'rows':>6}")
        self.stdout.write(f"{'-' * width}  {'-' * 6}")
        for layer, n in counts.items():
            self.stdout.write(f"{layer:<{width}}  {n:>6}")
        self.stdout.write(
            self.style.SUCCESS(f"Loaded the demo district from {directory} in {elapsed:.1f} s.")
        )
        self._cameras()
        if history is not None:
            self._history(history)

    def _cameras(self) -> None:
        """What the demo cameras see (so the console and the coverage have it at once), and the
        centre's 3 x 3 video wall (视频墙) showing the first cameras until someone changes it."""
        from redis import RedisError

        from cameras.models import Camera, VideoWall, WallTile
        from cameras.viewshed import viewsheds_compute_stale

        try:
            run = viewsheds_compute_stale()
        except RedisError as exc:  # the catch-up's digests live in Redis; the sweep runs later
            self.stderr.write(f"Viewsheds not computed now ({exc}); the periodic sweep will.")
        else:
            self.stdout.write(f"Viewsheds: {run}")
        wall, _ = VideoWall.objects.get_or_create(
            code="WALL-01", defaults={"name": "指挥大厅视频墙", "rows": 3, "cols": 3}
        )
        if not wall.tiles.exists():
            cameras = Camera.objects.order_by("-ptz", "code")[: wall.rows * wall.cols]
            WallTile.objects.bulk_create(
                WallTile(wall=wall, row=i // wall.cols, col=i % wall.cols, camera=camera)
                for i, camera in enumerate(cameras)
            )

    def _history(self, directory: Path) -> None:
        from cases.archive import ArchiveError

        try:
            report = history_load(directory)
        except ArchiveError as exc:
            raise CommandError(f"The demo history was not loaded (nothing written): {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Demo history: {report.summary()}"))
