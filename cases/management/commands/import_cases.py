"""``manage.py import_cases FILE --mapping MAPPING.yaml``: import a historical case archive
(历史案卷) with its original timestamps."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from cases.archive import ArchiveError, archive_import, mapping_load


class _Bars:
    """One tqdm bar per phase of the import, on stderr (a terminal only); the summary goes to
    stdout."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def __call__(self, phase: str, total: int):
        self.close()
        self.bar = tqdm(total=total, desc=phase, unit="row", file=sys.stderr, disable=None)
        return self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = (
        "Import a historical case archive (CSV in any encoding, e.g. GBK, or Excel) with its "
        "original timestamps: one historical case per row, geocoded, with one event per "
        "timestamp (reported, filed 立案, dispatched, arrived, handled, verified, closed; "
        "rejected 不予立案 / void 作废 where the outcome says so). The mapping (YAML; see "
        "docs/import_cases_mapping.example.yaml) names the columns and translates the archive's "
        "categories, departments, sources and outcomes into ours. Every row is checked first; "
        "bad rows are reported with their row number and reason. WITHOUT --skip-bad, ANY BAD "
        "ROW MEANS NOTHING IS WRITTEN and the command exits with status 1; with --skip-bad the "
        "good rows are imported and the bad ones reported (exit status 0). Rows whose archive "
        "id was imported before are skipped, so re-importing the same archive adds nothing. "
        "The write is all-or-nothing (one transaction)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the archive: .csv (or any text) or .xlsx")
        parser.add_argument("--mapping", type=Path, required=True, help="the mapping file (YAML)")
        parser.add_argument(
            "--skip-bad",
            action="store_true",
            help="import the good rows and report the bad ones (default: one bad row stops "
            "the import, nothing is written)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row and report; write nothing"
        )
        parser.add_argument(
            "--report",
            type=Path,
            metavar="BAD_ROWS.csv",
            help="write the rejected rows (row, id, column, value, reason) to this CSV file",
        )
        parser.add_argument(
            "--show",
            type=int,
            default=20,
            metavar="N",
            help="bad rows listed on the screen (default 20; all of them go to --report)",
        )

    def handle(self, *args, file: Path, mapping: Path, skip_bad, dry_run, report, show, **opts):
        bars = _Bars()
        try:
            result = archive_import(
                path=Path(file),
                mapping=mapping_load(mapping),
                skip_bad=skip_bad,
                dry_run=dry_run,
                progress=bars,
            )
        except ArchiveError as exc:
            raise CommandError(f"Nothing written: {exc}") from None
        except DatabaseError as exc:
            # E.g. another writer took the same archive id meanwhile: the transaction is undone.
            raise CommandError(f"Nothing written: the database refused the import: {exc}") from None
        finally:
            bars.close()
        if report is not None:
            result.write_bad_rows(report)
        for line in result.lines(limit=show):
            self.stdout.write(line)
        if report is not None:
            self.stdout.write(f"Bad rows with their reasons: {report}")
        if not result.ok:
            hint = "" if report is not None else " (--report FILE lists them all)"
            raise CommandError(
                f"{result.bad_rows:,} bad row(s){hint}; nothing was written. Fix the mapping or "
                "the rows, or import the good rows with --skip-bad."
            )
