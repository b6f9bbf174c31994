"""``manage.py import_categories FILE``: import the taxonomy of case categories (案件类别)."""

from django.core.management.base import BaseCommand, CommandError

from cases.taxonomy import categories_import


class Command(BaseCommand):
    help = (
        "Import case categories (部件 and 事件 subclasses with 立案标准, 处置时限, 结案标准, "
        "责任单位) from YAML, or CSV/Excel in the flat layout (one row per time limit). "
        "Everything is checked first; upsert by code; all-or-nothing. "
        "The shipped taxonomy is cases/data/categories.yaml."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .yaml/.yml, .csv or .xlsx file")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="deactivate (never delete) the categories the file does not list",
        )
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument(
            "--strict",
            action="store_true",
            help="a department that does not exist is an error (default: a warning, the "
            "category is kept without a department)",
        )

    def handle(self, *args, file, replace, dry_run, strict, **options):
        report = categories_import(path=file, replace=replace, dry_run=dry_run, strict=strict)
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            first = f": {report.errors[0]}" if len(report.errors) == 1 else " (see above)"
            raise CommandError(f"{len(report.errors)} error(s), nothing was written{first}")
