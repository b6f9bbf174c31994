"""``manage.py export_categories FILE``: write the case categories to YAML, CSV or Excel."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases.models import Category
from cases.taxonomy import TaxonomyError, categories_export, format_for_path


class Command(BaseCommand):
    help = (
        "Export every case category (inactive ones included) with its time limits. The format "
        "follows the extension: .yaml/.yml like cases/data/categories.yaml, .csv (UTF-8 with "
        "BOM) or .xlsx in the flat layout (one row per time limit). import_categories reads "
        "the file back unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="where to write: a .yaml/.yml, .csv or .xlsx file")

    def handle(self, *args, file, **options):
        try:
            fmt = format_for_path(file)
        except TaxonomyError as exc:
            raise CommandError(str(exc)) from None
        Path(file).write_bytes(categories_export(format=fmt))
        self.stdout.write(f"Wrote {Category.objects.count()} categories to {file} ({fmt}).")
