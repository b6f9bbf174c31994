"""Monthly partitions of the position table (``gridmap_position``, PARTITION BY RANGE (at)).

Each month (cut at local midnight, ``settings.TIME_ZONE``) gets a partition named
``gridmap_position_yYYYYmMM``, created ahead of time; anything outside the created months lands
in ``gridmap_position_default``. When a month is created whose fixes already sit in the default
partition (a device's clock was off, or the beat task did not run for months), those rows are
moved into the new partition in the same transaction: PostgreSQL refuses to attach a partition
that the default partition still holds rows for.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.utils import timezone

from ..shifts import local_zone

PARENT = "gridmap_position"
DEFAULT = "gridmap_position_default"
#: How many months after the current one ``ensure_position_partitions`` creates by default.
MONTHS_AHEAD = 3


@dataclass(frozen=True)
class PartitionsResult:
    created: list[str]
    moved_rows: int


def partition_name(year: int, month: int) -> str:
    return f"{PARENT}_y{year:04d}m{month:02d}"


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _existing() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        return {name for (name,) in cursor.fetchall()}


def position_partitions() -> list[str]:
    """Names of the partitions of the position table, sorted (the default partition last)."""
    names = _existing()
    return sorted(names - {DEFAULT}) + ([DEFAULT] if DEFAULT in names else [])


def ensure_position_partitions(
    *, start: date | None = None, months: int = MONTHS_AHEAD + 1, now: datetime | None = None
) -> PartitionsResult:
    """Create the monthly partitions from ``start``'s month (default: the current local month)
    for ``months`` months, skipping those that exist; rows of those months found in the
    default partition are moved into the new one. All or nothing."""
    tz = local_zone()
    if start is None:
        start = (now or timezone.now()).astimezone(tz).date()
    year, month = start.year, start.month
    created: list[str] = []
    moved = 0
    with transaction.atomic():
        existing = _existing()
        for _ in range(months):
            name = partition_name(year, month)
            nyear, nmonth = _next_month(year, month)
            if name not in existing:
                lower = datetime(year, month, 1, tzinfo=tz)
                upper = datetime(nyear, nmonth, 1, tzinfo=tz)
                moved += _create(name, lower, upper)
                created.append(name)
            year, month = nyear, nmonth
    return PartitionsResult(created, moved)


def _create(name: str, lower: datetime, upper: datetime) -> int:
    """Create one month's partition; returns how many rows came over from the default one.
    ``name`` is built by ``partition_name`` (digits only), never taken from input."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT} WHERE at >= %s AND at < %s", [lower, upper])
        (waiting,) = cursor.fetchone()
        if not waiting:
            cursor.execute(
                f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)",
                [lower, upper],
            )
            return 0
        # Rows of this month sit in the default partition: build the month apart, move them,
        # then attach it (the attach checks the default partition holds none of its range).
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"WITH gone AS (DELETE FROM {DEFAULT} WHERE at >= %s AND at < %s RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM gone",
            [lower, upper],
        )
        cursor.execute(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
            [lower, upper],
        )
        return waiting
