"""``manage.py compute_viewsheds [--code CODE ...] [--stale]``: (re)compute camera viewsheds."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cameras.models import Camera
from cameras.viewshed import viewsheds_compute
from gridmap.management.commands.import_district import progress_bar


class Command(BaseCommand):
    help = (
        "Compute the viewsheds (可视域) of all cameras, or of the cameras given with --code, "
        "against the building footprints, and store them; all-or-nothing. --stale: only those "
        "marked stale by an edit or a bulk import."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--code",
            action="append",
            default=[],
            metavar="CODE",
            help="a camera code (repeatable; commas also separate codes)",
        )
        parser.add_argument(
            "--stale", action="store_true", help="only cameras whose viewshed is out of date"
        )

    def handle(self, *args, **opts):
        codes = [c.strip() for value in opts["code"] for c in value.split(",") if c.strip()]
        cameras = Camera.objects.order_by("code")
        if codes:
            cameras = cameras.filter(code__in=codes)
            missing = sorted(set(codes) - set(cameras.values_list("code", flat=True)))
            if missing:
                raise CommandError(f"no camera with code(s): {', '.join(missing)}")
        if opts["stale"]:
            cameras = cameras.filter(viewshed_computed_at__isnull=True)
        with transaction.atomic():
            selected = list(cameras.select_for_update())
            with progress_bar(None, total=len(selected), desc="viewsheds") as bar:
                run = viewsheds_compute(selected, progress=lambda done: bar.update(1))
        self.stdout.write(
            f"{run.cameras} viewshed(s) computed against {run.buildings} building(s) "
            f"in {run.seconds:.2f} s"
            + (f"; {run.blind} camera(s) see nothing (check their position)" if run.blind else "")
        )
