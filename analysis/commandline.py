"""What the analysis commands share: the filter options, the run, writing the file safely."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from django.core.management.base import CommandError
from tqdm import tqdm

from .selection import AnalysisInputError, AnalysisNotFound
from .services import analysis_run


def add_filter_options(parser) -> None:
    """--reported-after, --reported-before, --category, --source, --community, --stage."""
    group = parser.add_argument_group("filters (as the API's)")
    group.add_argument("--reported-after", metavar="DATE", help="ISO date or time, inclusive")
    group.add_argument("--reported-before", metavar="DATE", help="ISO date or time, exclusive")
    for name, what in (
        ("category", "category code (E0401 …)"),
        ("source", "source (inspector, camera, hotline, public …)"),
        ("community", "community code"),
        ("stage", "stage (closed, …)"),
    ):
        group.add_argument(
            f"--{name}", action="append", default=[], help=f"{what}; repeat or comma-separate"
        )


def filter_params(options: dict) -> dict:
    """The filters given on the command line, as the API would receive them."""
    params: dict = {}
    for name in ("reported_after", "reported_before"):
        if options.get(name):
            params[name] = options[name]
    for name in ("category", "source", "community", "stage"):
        if options.get(name):
            params[name] = list(options[name])
    return params


class _Bar:
    def __init__(self) -> None:
        self.bar = tqdm(total=100, unit="%", file=sys.stderr, disable=None, leave=False)
        self.done = 0

    def __call__(self, fraction: float, message: str) -> None:
        step = int(fraction * 100) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step
        self.bar.set_postfix_str(message[:40])

    def close(self) -> None:
        self.bar.close()


def run_to_file(kind: str, params: dict, out: Path) -> tuple[dict, float]:
    """Run the analysis and write its file to ``out`` (written whole or not at all: a
    temporary file renamed into place). Bad input is a ``CommandError`` (exit status 1)."""
    started = time.perf_counter()
    if out.is_dir():
        raise CommandError(f"--out {out} is a directory: give a file name")
    if not out.parent.exists():
        raise CommandError(f"--out: the folder {out.parent} does not exist")
    bar = _Bar()
    try:
        result = analysis_run(kind, params, progress=bar)
    except (AnalysisInputError, AnalysisNotFound) as exc:
        raise CommandError(f"Nothing written: {exc}") from None
    finally:
        bar.close()
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(result.content)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return result.summary, time.perf_counter() - started
