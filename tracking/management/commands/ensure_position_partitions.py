"""``manage.py ensure_position_partitions``: create the position table's monthly partitions."""

from django.core.management.base import BaseCommand, CommandError

from tracking.services.partitions import (
    MONTHS_AHEAD,
    ensure_position_partitions,
    position_partitions,
)


class Command(BaseCommand):
    help = (
        "Create the monthly partitions of the position table from the current month on "
        "(Celery beat does this every 6 hours). Fixes of a month found in the default "
        "partition are moved into the new month's partition."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months",
            type=int,
            default=MONTHS_AHEAD + 1,
            help=f"how many months, this one included (default {MONTHS_AHEAD + 1})",
        )

    def handle(self, *args, months, **options):
        if not 1 <= months <= 120:
            raise CommandError("--months must lie between 1 and 120.")
        result = ensure_position_partitions(months=months)
        for name in result.created:
            self.stdout.write(f"created {name}")
        self.stdout.write(
            f"{len(result.created)} partition(s) created, {result.moved_rows} row(s) moved "
            f"from the default partition; {len(position_partitions())} partitions in all."
        )
