"""Bringing a district's real data in: readers, checks and all-or-nothing writers.

``import_file`` is the one core behind ``manage.py import_district`` / ``import_components`` and
the admin's import page.
"""

from .levels import LEVELS
from .reader import ReadError, read_source
from .report import ImportReport, Problem
from .service import ImportOptions, import_file

__all__ = [
    "LEVELS",
    "ImportOptions",
    "ImportReport",
    "Problem",
    "ReadError",
    "import_file",
    "read_source",
]
