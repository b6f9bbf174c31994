"""``manage.py evaluate --from DATE --to DATE --by KIND --format FORMAT [--out FILE]``:
indicators, scores, grades and the ranking (红黑榜) of every unit of a kind."""

import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluation.indicators import Period
from evaluation.report import FORMATS, render
from evaluation.scores import WeightsError
from evaluation.selectors import evaluate, period_check
from evaluation.units import KINDS


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: give YYYY-MM-DD, e.g. 2026-03-01") from None


class Command(BaseCommand):
    help = (
        "Evaluate (考核评价) every unit of a kind over the period [--from, --to) — the end date is "
        "NOT included, so March is --from 2026-03-01 --to 2026-04-01: counts by source, stage "
        "and category, on-time rates of the filing, dispatch, arrival, feedback, disposal and "
        "verification clocks, closure, on-time closure, rework, first-time completion, "
        "accurate filing and dispatch, missed reports, satisfaction, attendance, stage "
        "durations (mean, median, 90th percentile), the composite score, grade A–E, rank and "
        "its change against the previous period of the same length. Units without cases are "
        "listed as 'no cases'. Works on imported archives as on live cases."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument(
            "--to", dest="end", required=True, help="day after the last, YYYY-MM-DD (excluded)"
        )
        parser.add_argument("--by", required=True, help=f"unit kind: {', '.join(KINDS)}")
        parser.add_argument(
            "--format", default="table", help=f"output: {', '.join(FORMATS)} (default table)"
        )
        parser.add_argument(
            "--out", type=Path, help="write to this file (required for xlsx; default stdout)"
        )

    def handle(self, *args, **options):
        kind, fmt, out = options["by"], options["format"], options["out"]
        if kind not in KINDS:
            raise CommandError(f"--by {kind!r} is not a unit kind; use one of: {', '.join(KINDS)}")
        if fmt not in FORMATS:
            raise CommandError(f"--format {fmt!r} is unknown; use one of: {', '.join(FORMATS)}")
        if fmt == "xlsx" and out is None:
            raise CommandError("--format xlsx needs --out FILE.xlsx (a workbook is not text)")
        first, end = _date(options["first"]), _date(options["end"])
        try:
            period_check(first, end)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if out is not None and not out.parent.is_dir():
            raise CommandError(f"--out {out}: the folder {out.parent} does not exist")
        try:
            evaluation = evaluate(kind, Period.from_dates(first, end))
        except WeightsError as exc:
            raise CommandError(f"the score weights in the admin are unusable: {exc}") from None
        data = render(evaluation, fmt)
        if out is None:
            sys.stdout.flush()
            self.stdout.write(data.decode("utf-8-sig"), ending="")
        else:
            out.write_bytes(data)
            scored = sum(1 for r in evaluation.rows if r.score is not None)
            empty = sum(1 for r in evaluation.rows if not r.has_cases)
            self.stderr.write(
                f"{len(evaluation.rows)} unit(s) ({scored} scored, {empty} without cases) "
                f"written to {out}"
            )
