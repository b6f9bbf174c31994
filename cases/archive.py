"""Historical case archives (历史案卷): import past cases with their own timestamps.

A district that starts using gridmap has years of cases in its old system (a 数字城管 platform,
a hotline system, a spreadsheet). ``archive_import`` loads such an export — CSV (any encoding,
GBK included) or Excel — so that evaluation and hotspots work on history: each row becomes a
``Case`` with ``historical=True`` and one ``CaseEvent`` per timestamp the row has, carrying the
stage transition it stands for (立案 → ``file`` → ``registered``, 派遣 → ``dispatch`` →
``dispatched``…). Which column holds what, and how the old system's names (its categories,
departments, sources, outcomes) translate into ours, is said by a mapping file (YAML; see
``docs/import_cases_mapping.example.yaml``).

Every row is checked before anything is written. A row that cannot be mapped (unknown category
or department, no or bad coordinates, outside the district, unreadable timestamps, timestamps out
of order or in the future, an id twice in the file…) is reported with its row number and the
reason. Without ``skip_bad`` one bad row means nothing is written; with it, the good rows are
imported and the bad ones reported.

A row whose archive id is already in the database (as ``external_id`` of a historical case, or
of a live case of the same source) is **skipped**, not updated: a case's event log is
append-only, so an imported history cannot be rewritten, and re-importing the same archive (or a
later export that overlaps it) must neither duplicate cases nor fail.

Speed (100 k rows in well under a minute): columns are parsed and mapped with pandas/numpy, all
points are geocoded at once (``lonlat_assign``), case ids are taken from the table's sequence in
one query, and every table is written with ``COPY`` inside one transaction. Each table's rows come
from one function (``_case_table``, ``_zone_table``, ``_event_table``) over the checked rows, so a
further table (e.g. clock rows derived from the events and the deadline) is one more function.
"""

import json
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyproj
import shapely
import yaml
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from gridmap.crs import UnknownSRS, parse_srs, to_wgs84
from gridmap.models import (
    STORAGE_SRID,
    WGS84,
    Community,
    Department,
    ResponsibilityZone,
    Subdistrict,
    UnitGrid,
)
from gridmap.services.bulk_geocode import Areas, areas_load, lonlat_assign

from .calendar import due_after
from .durations import durations_fill
from .models import Case, CaseEvent, Category, Clock
from .services import FUTURE_SKEW, TRACKING_ALPHABET

#: The closed loop's steps an archive's timestamps stand for, in the loop's order: (column,
#: event kind, stage reached). ``verify`` (passed) keeps ``handled``; ``close`` closes (at the
#: verification's time when the archive closed a case by verifying it).
STEPS = (
    ("reported_at", "report", Case.Stage.REPORTED),
    ("filed_at", "file", Case.Stage.REGISTERED),
    ("dispatched_at", "dispatch", Case.Stage.DISPATCHED),
    ("arrived_at", "arrive", Case.Stage.ON_SCENE),
    ("handled_at", "handle", Case.Stage.HANDLED),
    ("verified_at", "verify", Case.Stage.HANDLED),
    ("closed_at", "close", Case.Stage.CLOSED),
)
TIME_COLUMNS = (*(s[0] for s in STEPS), "rejected_at", "voided_at", "deadline")
#: Everything a mapping's ``columns`` may name.
FIELDS = (
    "id",
    "category",
    "department",
    "source",
    "lon",
    "lat",
    "srs",
    "address",
    "description",
    *TIME_COLUMNS,
    "on_time",
    "outcome",
)
REQUIRED = ("id", "lon", "lat", "reported_at")
#: How an archive row ended: ``open`` means still running (the stage is the last one reached).
OUTCOMES = ("closed", "rejected", "void", "open")
#: Fields whose values may be translated by ``values`` and filled by ``defaults``.
MAPPED = ("category", "department", "source", "outcome", "on_time", "srs")
DEFAULTABLE = ("category", "department", "source", "outcome", "srs")
#: Tried in order on each timestamp (pandas formats; ``ISO8601`` also takes offsets like +08:00).
DEFAULT_TIME_FORMATS = (
    "ISO8601",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
    "%Y%m%d%H%M%S",
)
ON_TIME_WORDS = {
    **dict.fromkeys(("true", "1", "yes", "y", "是", "按期", "按时", "正常"), True),
    **dict.fromkeys(("false", "0", "no", "n", "否", "超期", "超时", "逾期"), False),
}
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: Rows per COPY chunk (the progress bar moves per chunk).
COPY_CHUNK = 20_000
_NAT = np.iinfo(np.int64).min


class ArchiveError(ValueError):
    """The mapping or the file as a whole is unusable; the message says what would do."""


# --- the mapping -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """How to read one archive: file options, which column holds what, value translations.

    ``columns``: our field (``FIELDS``) → the file's column name. ``values``: our field → {the
    archive's value → ours}. ``defaults``: our field → value used where the column is absent or
    the cell empty. Naive timestamps are in ``timezone``.
    """

    columns: dict[str, str]
    values: dict[str, dict[str, str | bool]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | int | None = None
    timezone: str = ""
    timestamp_formats: tuple[str, ...] = DEFAULT_TIME_FORMATS

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or settings.TIME_ZONE)


def _section(data: dict, name: str, where: str) -> dict:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise ArchiveError(f"{where}: {name} must be a mapping of keys to values")
    return value


def _keys_known(section: dict, known, where: str) -> None:
    unknown = [str(k) for k in section if k not in known]
    if unknown:
        raise ArchiveError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )


def mapping_parse(data: dict, *, where: str = "mapping") -> Mapping:
    """A mapping from its parsed YAML; raises ``ArchiveError`` naming the key at fault."""
    if not isinstance(data, dict):
        raise ArchiveError(f"{where}: expected sections file, columns, values, defaults")
    _keys_known(data, ("file", "columns", "values", "defaults"), where)
    file = _section(data, "file", where)
    _keys_known(file, ("encoding", "delimiter", "sheet", "timezone", "timestamp_formats"), where)
    columns = {str(k): str(v) for k, v in _section(data, "columns", where).items() if v}
    _keys_known(columns, FIELDS, f"{where}: columns")
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise ArchiveError(f"{where}: columns must name the column of {', '.join(missing)}")
    defaults = {
        str(k): str(v) for k, v in _section(data, "defaults", where).items() if v is not None
    }
    _keys_known(defaults, DEFAULTABLE, f"{where}: defaults")
    for needed in ("category", "source"):
        if needed not in columns and needed not in defaults:
            raise ArchiveError(f"{where}: give columns.{needed} or defaults.{needed}")
    values_section = _section(data, "values", where)
    _keys_known(values_section, MAPPED, f"{where}: values")
    values: dict[str, dict] = {}
    for name, table in values_section.items():
        if not isinstance(table, dict):
            raise ArchiveError(f"{where}: values.{name} must map the archive's values to ours")
        for key in table:
            if isinstance(key, bool):
                raise ArchiveError(
                    f"{where}: values.{name} has a key YAML reads as a boolean ({key}); quote "
                    'it, e.g. "yes" or "no"'
                )
        values[name] = {
            str(k).strip(): v if isinstance(v, bool) else str(v) for k, v in table.items()
        }
    formats = file.get("timestamp_formats") or DEFAULT_TIME_FORMATS
    if isinstance(formats, str):
        formats = [formats]
    tz = str(file.get("timezone") or "")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ArchiveError(f"{where}: unknown timezone {tz!r} (e.g. Asia/Shanghai)") from None
    delimiter = str(file.get("delimiter") or ",")
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if len(delimiter) != 1:
        raise ArchiveError(f"{where}: file.delimiter must be one character, got {delimiter!r}")
    sheet = file.get("sheet")
    return Mapping(
        columns=columns,
        values=values,
        defaults=defaults,
        encoding=str(file.get("encoding") or "utf-8"),
        delimiter=delimiter,
        sheet=sheet if isinstance(sheet, int) or sheet is None else str(sheet),
        timezone=tz,
        timestamp_formats=tuple(str(f) for f in formats),
    )


def mapping_load(path: str | Path) -> Mapping:
    """Read a mapping YAML file (``docs/import_cases_mapping.example.yaml`` explains it)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ArchiveError(f"cannot read the mapping {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ArchiveError(f"{path} is not valid YAML: {exc}") from None
    return mapping_parse(data, where=str(path))


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRow:
    """One reason a row cannot be imported. ``row`` counts the header as row 1, as a
    spreadsheet shows it."""

    row: int
    external_id: str
    column: str
    value: str
    reason: str
    #: The reason without this row's particulars, for counting ("outside the district").
    kind: str = ""

    def __str__(self) -> str:
        ident = f" (id {self.external_id})" if self.external_id else ""
        return f"row {self.row}{ident}: {self.reason}"


@dataclass
class ArchiveReport:
    """What an import did (or, in a dry run or when bad rows stopped it, would have done)."""

    source: str
    rows: int = 0
    existing: int = 0
    imported: int = 0
    events: int = 0
    zone_links: int = 0
    stages: Counter = field(default_factory=Counter)
    bad: list[BadRow] = field(default_factory=list)
    skip_bad: bool = False
    dry_run: bool = False
    written: bool = False
    seconds: float = 0.0

    @property
    def bad_rows(self) -> int:
        return len({b.row for b in self.bad})

    @property
    def ok(self) -> bool:
        """True when the import went (or, in a dry run, would go) through."""
        return self.skip_bad or not self.bad

    def reasons(self) -> Counter:
        """Problems by kind (an unknown value is named: ``unknown category '乱扔烟头'``)."""
        return Counter(b.kind or b.reason for b in self.bad)

    def summary(self) -> str:
        if not self.ok:
            outcome = f"NOT imported: {self.bad_rows:,} bad row(s); nothing was written"
        elif self.dry_run:
            outcome = f"dry run: {self.imported:,} case(s) would be imported, nothing written"
        else:
            outcome = f"imported {self.imported:,} case(s)"
        skipped = f", {self.bad_rows:,} bad row(s) skipped" if self.skip_bad and self.bad else ""
        return (
            f"{self.source}: {self.rows:,} row(s), {self.existing:,} already imported{skipped}. "
            f"{outcome}."
        )

    def lines(self, *, limit: int | None = 20) -> list[str]:
        """Bad rows (the first ``limit``), bad rows by reason, counts and the summary."""
        out = [str(b) for b in (self.bad if limit is None else self.bad[:limit])]
        if limit is not None and len(self.bad) > limit:
            out.append(f"… and {len(self.bad) - limit:,} more problem(s)")
        if self.bad:
            out.append("Problems by reason:")
            out += [f"  {n:>8,}  {reason}" for reason, n in self.reasons().most_common(15)]
        counts = [
            ("rows read", self.rows),
            ("already imported (skipped)", self.existing),
            ("bad rows", self.bad_rows),
            (
                "cases" + (" to import" if self.dry_run or not self.ok else " imported"),
                self.imported,
            ),
            ("  events", self.events),
            ("  zone links", self.zone_links),
        ]
        counts += [(f"  {stage}", n) for stage, n in sorted(self.stages.items())]
        width = max(len(name) for name, _ in counts)
        out += [f"{name:<{width}}  {n:>10,}" for name, n in counts]
        out.append(f"{'seconds':<{width}}  {self.seconds:>10.1f}")
        out.append(self.summary())
        return out

    def write_bad_rows(self, path: str | Path) -> None:
        """The rejected rows as CSV (UTF-8 with BOM, so that Excel opens it): row, id, column,
        value, reason — one line per problem."""
        table = pa.table(
            {
                "row": pa.array([b.row for b in self.bad], type=pa.int64()),
                "id": [b.external_id for b in self.bad],
                "column": [b.column for b in self.bad],
                "value": [b.value for b in self.bad],
                "reason": [b.reason for b in self.bad],
            }
        )
        with open(path, "wb") as out:
            out.write("\ufeff".encode())
            pacsv.write_csv(table, out)


# --- reading ---------------------------------------------------------------------------------


def archive_read(path: str | Path, mapping: Mapping) -> pd.DataFrame:
    """The archive's mapped columns as text, renamed to our fields, plus ``_row`` (the row
    number as a spreadsheet shows it: the header is row 1). Raises ``ArchiveError``."""
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"{path}: no such file")
    wanted = list(dict.fromkeys(mapping.columns.values()))
    try:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            frame = pd.read_excel(
                path, sheet_name=mapping.sheet or 0, dtype=str, engine="openpyxl"
            ).fillna("")
        else:
            encoding = mapping.encoding
            if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
                encoding = "utf-8-sig"
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                sep=mapping.delimiter,
                skipinitialspace=False,
            )
    except UnicodeDecodeError:
        raise ArchiveError(
            f"{path} is not {mapping.encoding} text: set file.encoding in the mapping "
            "(gbk or gb18030 for most Chinese exports)"
        ) from None
    except LookupError:
        raise ArchiveError(f"unknown encoding {mapping.encoding!r} (file.encoding)") from None
    except ValueError as exc:
        raise ArchiveError(f"cannot read {path.name}: {exc}") from None
    except OSError as exc:
        raise ArchiveError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ArchiveError(
            f"{path.name} has no column(s) {', '.join(map(repr, missing))} named in the mapping; "
            f"its columns are: {', '.join(map(repr, frame.columns))}"
        )
    out = pd.DataFrame(
        {ours: frame[theirs].astype(str).str.strip() for ours, theirs in mapping.columns.items()}
    )
    out["_row"] = np.arange(2, len(frame) + 2)
    return out


# --- checking --------------------------------------------------------------------------------


@dataclass
class ArchiveRows:
    """The checked rows, ready to write: per row (arrays of equal length) and per event.

    Times are UTC microseconds since the epoch (``_NAT`` for none). Area and department ids are
    0 where there is none. Zones: row i's zone ids are ``zone_ids[zone_ptr[i]:zone_ptr[i + 1]]``.
    Events: ``event_row`` (index of the row), ``event_kind``, ``event_at``, ``event_from``,
    ``event_to``, ``event_extra`` (more event data, or None), in the loop's order within each
    row.
    """

    row: np.ndarray
    external_id: list[str]
    source: list[str]
    category_id: np.ndarray
    department_id: np.ndarray
    subdistrict_id: np.ndarray
    community_id: np.ndarray
    grid_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    address: list[str]
    description: list[str]
    stage: list[str]
    reported_at: np.ndarray
    closed_at: np.ndarray
    verified_at: np.ndarray
    deadline: np.ndarray
    on_time: list[bool | None]
    zone_ptr: np.ndarray
    zone_ids: np.ndarray
    event_row: np.ndarray
    event_kind: list[str]
    event_at: np.ndarray
    event_from: list[str]
    event_to: list[str]
    event_extra: list[dict | None]

    def __len__(self) -> int:
        return len(self.row)


class _Problems:
    """Bad rows collected while checking: (row index, column, value, reason)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.items: list[tuple[int, str, str, str, str]] = []

    def value(self, i: int, column: str) -> str:
        return self.frame[column].iat[i] if column in self.frame else ""

    def add(self, mask, column: str, reason, kind: str = "") -> None:
        """Flag the rows where ``mask`` holds. ``reason``: text, or a function of (row index,
        the cell's value); ``kind``: the reason without the row's particulars."""
        for i in np.flatnonzero(np.asarray(mask)).tolist():
            self.add_one(i, column, reason, kind)

    def add_one(self, i: int, column: str, reason, kind: str = "") -> None:
        value = self.value(i, column)
        text = reason(i, value) if callable(reason) else reason
        self.items.append((i, column, value, text, kind or text))

    def rows(self) -> np.ndarray:
        return np.unique(np.array([i for i, *_ in self.items], dtype=np.int64))

    def bad_rows(self, ids: pd.Series) -> list[BadRow]:
        rows = self.frame["_row"].to_numpy()
        return [
            BadRow(int(rows[i]), ids.iat[i], column, value, reason, kind)
            for i, column, value, reason, kind in sorted(self.items, key=lambda p: p[0])
        ]


def _translate(
    frame: pd.DataFrame, mapping: Mapping, name: str, known: dict[str, object]
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """A mapped field's values in our terms: (translated values, unknown mask, empty mask).

    The mapping's ``values`` first, then the value itself when it is already ours (``known``:
    our spelling → our value; also in lower case), ``defaults`` for empty cells and absent
    columns.
    """
    n = len(frame)
    text = frame[name] if name in frame else pd.Series([""] * n, index=frame.index, dtype=object)
    text = text.where(text != "", mapping.defaults.get(name, ""))
    table = {
        theirs: known.get(ours, ours) if isinstance(ours, str) else ours
        for theirs, ours in mapping.values.get(name, {}).items()
    }
    out = text.map(table)
    out = out.where(~out.isna(), text.map(known))
    out = out.where(~out.isna(), text.str.lower().map(known))
    empty = (text == "").to_numpy()
    unknown = out.isna().to_numpy() & ~empty
    return out, unknown, empty


def _check_value_maps(mapping: Mapping, known: dict[str, dict]) -> None:
    """Every translation must land on something of ours: a wrong mapping is the mapping's
    error, not every row's."""
    for name in ("category", "department", "source", "outcome"):
        table = mapping.values.get(name, {})
        wrong = sorted({str(v) for v in table.values() if v not in known[name]})
        if wrong:
            ours = ", ".join(sorted(k for k in known[name] if k.isascii()))
            raise ArchiveError(
                f"values.{name} maps to {', '.join(map(repr, wrong))}, which "
                f"{'is' if len(wrong) == 1 else 'are'} not ours; ours: {ours[:600]}"
            )
        default = mapping.defaults.get(name)
        if default and default not in known[name] and default not in table:
            raise ArchiveError(f"defaults.{name} {default!r} is not one of ours")
    wrong = [v for v in mapping.values.get("on_time", {}).values() if not isinstance(v, bool)]
    if wrong:
        raise ArchiveError(f"values.on_time must map to true or false, not {wrong[0]!r}")
    srs_values = list(mapping.values.get("srs", {}).values())
    if mapping.defaults.get("srs"):
        srs_values.append(mapping.defaults["srs"])
    for value in srs_values:
        try:
            parse_srs(value)
        except UnknownSRS as exc:
            raise ArchiveError(f"mapping: {exc}") from None


def _known_values() -> dict[str, dict]:
    """Our own spellings each mapped field accepts without a ``values`` entry."""
    categories: dict[str, object] = {}
    names = Counter(Category.objects.values_list("minor_name", flat=True))
    for pk, code, minor in Category.objects.values_list("id", "code", "minor_name"):
        categories[code] = pk
        if names[minor] == 1:
            categories.setdefault(minor, pk)
    departments: dict[str, object] = {}
    for pk, code, name in Department.objects.values_list("id", "code", "name"):
        departments[code] = pk
        if name:
            departments.setdefault(name, pk)
    return {
        "category": categories,
        "department": departments,
        "source": {s: s for s in Case.Source.values},
        "outcome": {o: o for o in OUTCOMES},
        "on_time": ON_TIME_WORDS,
    }


_OFFSET = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"


def _times(
    text: pd.Series, formats: tuple[str, ...], tz: ZoneInfo
) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps as text → (UTC microseconds, or ``_NAT``; mask of unreadable non-empty cells).

    Each format is tried on what the earlier ones could not read. Naive times are in ``tz``; a
    local time that does not exist or is ambiguous there (daylight saving) counts as unreadable.
    Strict: 2024-02-30 is not a date.
    """
    out = np.full(len(text), _NAT, dtype=np.int64)
    values = text.to_numpy(dtype=object)
    todo = np.flatnonzero(values != "")
    for fmt in formats:
        if not len(todo):
            break
        part = pd.Series(values[todo])
        parsed = np.full(len(todo), _NAT, dtype=np.int64)
        aware = part.str.contains(_OFFSET, regex=True).to_numpy() if fmt == "ISO8601" else None
        if "%z" in fmt or aware is not None:
            sel = np.ones(len(todo), dtype=bool) if aware is None else aware
            if sel.any():
                got = pd.to_datetime(part[sel], format=fmt, errors="coerce", utc=True)
                parsed[sel] = _micros(got.dt.tz_localize(None))
        naive = np.ones(len(todo), dtype=bool) if aware is None else ~aware
        if "%z" not in fmt and naive.any():
            got = pd.to_datetime(part[naive], format=fmt, errors="coerce")
            local = got.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            parsed[naive] = _micros(local.dt.tz_convert("UTC").dt.tz_localize(None))
        ok = parsed != _NAT
        out[todo[ok]] = parsed[ok]
        todo = todo[~ok]
    bad = np.zeros(len(text), dtype=bool)
    bad[todo] = True
    return out, bad


def _micros(series: pd.Series) -> np.ndarray:
    """Naive UTC datetimes (NaT allowed) → int64 microseconds, ``_NAT`` for NaT."""
    values = series.to_numpy(dtype="datetime64[us]")
    return values.astype(np.int64)


def _iso(us: int, tz: ZoneInfo) -> str:
    return pd.Timestamp(us, unit="us", tz="UTC").tz_convert(tz).isoformat()


def _local_iso(us: np.ndarray, tz: ZoneInfo) -> list[str | None]:
    """UTC microseconds → ISO 8601 local times with their offset (2024-05-01T12:00:00+08:00),
    vectorised; None for ``_NAT``."""
    stamps = pd.Series(pd.to_datetime(np.where(us == _NAT, 0, us), unit="us", utc=True))
    text = stamps.dt.tz_convert(tz).dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    text = text.str[:-2] + ":" + text.str[-2:]
    return [None if missing else t for t, missing in zip(text.tolist(), us == _NAT, strict=True)]


class _Checker:
    """Checks an archive's rows and turns the good ones into ``ArchiveRows``."""

    def __init__(self, frame: pd.DataFrame, mapping: Mapping, areas: Areas, now_us: int):
        self.frame, self.mapping, self.areas, self.now_us = frame, mapping, areas, now_us
        self.problems = _Problems(frame)
        self.n = len(frame)

    def field(self, name: str) -> pd.Series:
        return self.frame[name] if name in self.frame else pd.Series([""] * self.n)

    def run(self, known: dict[str, dict]) -> ArchiveRows:
        """Check every row; the good ones as ``ArchiveRows`` (the bad in ``self.problems``)."""
        problems, mapping, n = self.problems, self.mapping, self.n
        ids = self.field("id")
        problems.add((ids == "").to_numpy(), "id", "no id")
        counts = ids[ids != ""].value_counts()
        repeated = ids.isin(counts[counts > 1].index).to_numpy()
        if repeated.any():
            rows_of = self.frame["_row"][repeated].groupby(ids[repeated]).apply(list)
            problems.add(
                repeated,
                "id",
                lambda i, v: "id {!r} appears more than once in the file (rows {})".format(
                    v, ", ".join(map(str, rows_of[v][:10]))
                ),
                "an id appears more than once in the file",
            )

        translated = {}
        for name, empty_reason in (
            ("category", "no category"),
            ("department", None),
            ("source", "no source"),
            ("outcome", None),
            ("on_time", None),
        ):
            values, unknown, empty = _translate(self.frame, mapping, name, known[name])
            translated[name] = values
            problems.add(
                unknown,
                name,
                lambda i, v, name=name: (
                    f"unknown {name} {v!r}: add it to values.{name} in the mapping"
                ),
            )
            if empty_reason:
                problems.add(empty, name, empty_reason)

        x, y = self.locate()
        times = self.read_times()
        stage, closed_at, verified_at, events = self.loop(times, translated["outcome"])
        bad = problems.rows()
        good = np.ones(n, dtype=bool)
        good[bad] = False
        times = {**times, "verified_at": verified_at}
        return self.rows(good, ids, translated, x, y, times, stage, closed_at, events)

    def locate(self) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates → storage CRS (NaN where unusable), flagging what is wrong."""
        problems, n = self.problems, self.n
        lon_text, lat_text = self.field("lon"), self.field("lat")
        lon = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=float)
        no_coords = ((lon_text == "") | (lat_text == "")).to_numpy()
        problems.add(no_coords, "lon", "no coordinates")
        not_numbers = ~no_coords & ~(np.isfinite(lon) & np.isfinite(lat))
        problems.add(
            not_numbers,
            "lon",
            lambda i, v: f"coordinates are not numbers (lon {v!r}, lat {lat_text.iat[i]!r})",
            "coordinates are not numbers",
        )
        # Any spelling parse_srs accepts is ours; values.srs may translate others (高德 → gcj02).
        srs_text = self.field("srs")
        srs_text = srs_text.where(srs_text != "", self.mapping.defaults.get("srs", ""))
        srs_text = srs_text.replace(self.mapping.values.get("srs", {}))
        wgs_lon = np.full(n, np.nan)
        wgs_lat = np.full(n, np.nan)
        # The same points with lon and lat swapped, for rows that are out of range or outside.
        swap_lon = np.full(n, np.nan)
        swap_lat = np.full(n, np.nan)
        usable = ~no_coords & ~not_numbers
        out_of_range = np.zeros(n, dtype=bool)
        for value in pd.unique(srs_text):
            rows = (srs_text == value).to_numpy() & usable
            try:
                srs = parse_srs(value or None)
            except UnknownSRS:
                problems.add(rows, "srs", f"unknown srs {value!r}: add it to values.srs")
                usable &= ~rows
                continue
            if srs in ("gcj02", "bd09") or pyproj.CRS.from_epsg(srs).is_geographic:
                wild = rows & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
                out_of_range |= wild
                rows &= ~wild
                flip = wild & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
                if flip.any():
                    swap_lon[flip], swap_lat[flip] = to_wgs84(lat[flip], lon[flip], srs)
            if rows.any():
                wgs_lon[rows], wgs_lat[rows] = to_wgs84(lon[rows], lat[rows], srs)
                swap_lon[rows], swap_lat[rows] = to_wgs84(lat[rows], lon[rows], srs)
        usable &= ~out_of_range
        found = lonlat_assign(lon=wgs_lon, lat=wgs_lat, areas=self.areas)
        outside = usable & ~found.inside
        swapped = np.zeros(n, dtype=bool)
        check = np.flatnonzero(outside | out_of_range)
        if len(check):
            swapped[check] = lonlat_assign(
                lon=swap_lon[check], lat=swap_lat[check], areas=self.areas
            ).inside
        hint = ": inside with lon and lat swapped — check the lon/lat columns"
        problems.add(
            out_of_range,
            "lon",
            lambda i, v: (
                f"coordinates out of range (lon {v}, lat {lat_text.iat[i]})"
                + (hint if swapped[i] else "")
            ),
            "coordinates out of range",
        )
        problems.add(
            outside,
            "lon",
            lambda i, v: (
                f"outside the district (WGS-84 lon {wgs_lon[i]:.6f}, lat "
                f"{wgs_lat[i]:.6f})" + (hint if swapped[i] else "")
            ),
            "outside the district",
        )
        self.found = found
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        inside = found.inside
        if inside.any():
            x[inside], y[inside] = _to_storage().transform(wgs_lon[inside], wgs_lat[inside])
        return x, y

    def read_times(self) -> dict[str, np.ndarray]:
        times = {}
        tz = self.mapping.tz
        formats = self.mapping.timestamp_formats
        shown = ", ".join(formats[:4]) + ("…" if len(formats) > 4 else "")
        for name in TIME_COLUMNS:
            if name not in self.frame:
                times[name] = np.full(self.n, _NAT, dtype=np.int64)
                continue
            times[name], unreadable = _times(self.frame[name], formats, tz)
            self.problems.add(
                unreadable,
                name,
                lambda i, v, name=name: f"{name} {v!r} is not a time (formats: {shown})",
                f"{name} is not a time in the formats",
            )
            future = times[name] > self.now_us + int(FUTURE_SKEW / timedelta(microseconds=1))
            if name != "deadline":
                self.problems.add(
                    future,
                    name,
                    lambda i, v, name=name: f"{name} {v!r} lies in the future",
                    f"{name} lies in the future",
                )
        missing = (times["reported_at"] == _NAT) & (self.field("reported_at") == "").to_numpy()
        self.problems.add(missing, "reported_at", "no reported_at (发现/上报时间)")
        early = (times["deadline"] != _NAT) & (times["deadline"] < times["reported_at"])
        self.problems.add(early, "deadline", "deadline lies before reported_at")
        return times

    def loop(
        self, times: dict[str, np.ndarray], outcome: pd.Series
    ) -> tuple[list, np.ndarray, np.ndarray, list]:
        """Per row: its final stage, when it ended, when its disposal passed verification, and
        its events [(kind, at, from stage, to stage, extra data)] — as the live loop records
        them (cases/workflow.py): ``verify`` (passed) keeps ``handled``, ``close`` closes.

        How the row ended comes from the outcome column, else from the times present
        (rejected_at → rejected, voided_at → void, closed_at → closed, else still open).
        """
        n = self.n
        step_times = [times[c].tolist() for c, _, _ in STEPS]
        rejected_at, voided_at = times["rejected_at"].tolist(), times["voided_at"].tolist()
        outcomes = outcome.where(~outcome.isna(), "").tolist()
        tz = self.mapping.tz
        stages: list[str] = [""] * n
        closed_at = np.full(n, _NAT, dtype=np.int64)
        verified_at = np.full(n, _NAT, dtype=np.int64)
        events: list[list] = [[] for _ in range(n)]
        flag = self.problems.add_one
        verify_i, close_i = len(STEPS) - 2, len(STEPS) - 1
        for i in range(n):
            at = [t[i] for t in step_times]
            if at[0] == _NAT:
                continue  # no reported_at: flagged already
            ending = outcomes[i]
            if not ending:
                if rejected_at[i] != _NAT:
                    ending = "rejected"
                elif voided_at[i] != _NAT:
                    ending = "void"
                elif at[close_i] != _NAT:
                    ending = "closed"
                else:
                    ending = "open"
            # (kind, at, stage reached, the column the time came from, extra event data)
            steps: list[tuple] = []
            if ending == "rejected":
                later = [c for (c, _, _), t in zip(STEPS[2:], at[2:], strict=True) if t != _NAT]
                if later:
                    flag(i, later[0], f"rejected (不予立案) but the row has {', '.join(later)}")
                    continue
                end, column = next(
                    (
                        (t, c)
                        for t, c in (
                            (rejected_at[i], "rejected_at"),
                            (at[1], "filed_at"),
                            (at[close_i], "closed_at"),
                        )
                        if t != _NAT
                    ),
                    (_NAT, ""),
                )
                if end == _NAT:
                    flag(
                        i,
                        "outcome",
                        "rejected (不予立案) without a time: map rejected_at, filed_at or "
                        "closed_at",
                    )
                    continue
                steps = [
                    ("report", at[0], "reported", "reported_at", None),
                    ("reject", end, "rejected", column, None),
                ]
            else:
                steps = [
                    (
                        kind,
                        at[k],
                        str(stage),
                        column,
                        {"result": "passed"} if k == verify_i else None,
                    )
                    for k, (column, kind, stage) in enumerate(STEPS[:close_i])
                    if at[k] != _NAT
                ]
                if ending == "void":
                    end, column = (
                        (voided_at[i], "voided_at")
                        if voided_at[i] != _NAT
                        else (at[close_i], "closed_at")
                    )
                    if end == _NAT:
                        flag(i, "outcome", "void (作废) without a time: map voided_at or closed_at")
                        continue
                    steps.append(("void", end, "void", column, None))
                elif ending == "closed":
                    if at[close_i] != _NAT:
                        steps.append(("close", at[close_i], "closed", "closed_at", None))
                    elif at[verify_i] != _NAT:
                        # 核查结案: old systems often close with the verification itself.
                        steps.append(
                            ("close", at[verify_i], "closed", "verified_at", {"at": "verified_at"})
                        )
                    else:
                        flag(
                            i,
                            "outcome",
                            "closed (结案) without a time: map closed_at (or verified_at)",
                        )
                        continue
                elif at[close_i] != _NAT:
                    flag(
                        i,
                        "closed_at",
                        f"outcome {ending!r} (still open) but the row has closed_at",
                        "outcome still open but the row has closed_at",
                    )
                    continue
            # In the loop's order, each time at or after the one before.
            wrong = next(
                ((a, b) for a, b in pairwise(steps) if b[1] < a[1]),
                None,
            )
            if wrong is not None:
                (_, t1, _, c1, _), (_, t2, _, c2, _) = wrong
                flag(
                    i,
                    c2,
                    f"{c2} {_iso(t2, tz)} is before {c1} {_iso(t1, tz)}",
                    f"{c2} is before {c1}",
                )
                continue
            previous = ""
            resolved = []
            for kind, t, stage, _, extra in steps:
                resolved.append((kind, t, previous, stage, extra))
                previous = stage
            events[i] = resolved
            stages[i] = previous
            if previous in Case.FINAL_STAGES:
                closed_at[i] = resolved[-1][1]
            verified_at[i] = at[verify_i]
        return stages, closed_at, verified_at, events

    def rows(self, good, ids, translated, x, y, times, stages, closed_at, events) -> ArchiveRows:
        index = np.flatnonzero(good)
        found = self.found
        areas = self.areas
        category_id = translated["category"].to_numpy()[index].astype(np.int64)
        department = translated["department"].to_numpy()[index]
        category_department = _category_departments()
        department_id = np.array(
            [
                category_department.get(int(c), 0) if pd.isna(d) else int(d)
                for d, c in zip(department, category_id, strict=True)
            ],
            dtype=np.int64,
        )
        ids_of = _area_ids(areas)
        zone_sets = found.zone_sets.to_pylist()
        zone_set = found.zone_set[index]
        set_ids = [
            np.array([ids_of["zones"][c] for c in s.split(";")] if s else [], dtype=np.int64)
            for s in zone_sets
        ]
        lengths = np.array([len(set_ids[s]) for s in zone_set.tolist()], dtype=np.int64)
        zone_ptr = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=zone_ptr[1:])
        zone_ids = (
            np.concatenate([set_ids[s] for s in zone_set.tolist()])
            if len(index)
            else np.zeros(0, dtype=np.int64)
        )
        event_row, kinds, ats, froms, tos, extras = [], [], [], [], [], []
        for j, i in enumerate(index.tolist()):
            for kind, at, before, after, extra in events[i]:
                event_row.append(j)
                kinds.append(kind)
                ats.append(at)
                froms.append(before)
                tos.append(after)
                extras.append(extra)
        on_time = translated["on_time"].to_numpy()[index]
        return ArchiveRows(
            row=self.frame["_row"].to_numpy()[index],
            external_id=ids.to_numpy()[index].tolist(),
            source=translated["source"].to_numpy()[index].tolist(),
            category_id=category_id,
            department_id=department_id,
            subdistrict_id=_lookup(ids_of["subdistricts"], found.subdistrict[index]),
            community_id=_lookup(ids_of["communities"], found.community[index]),
            grid_id=_lookup(ids_of["grids"], found.grid[index]),
            x=x[index],
            y=y[index],
            address=self.field("address").to_numpy()[index].tolist(),
            description=self.field("description").to_numpy()[index].tolist(),
            stage=[stages[i] for i in index.tolist()],
            reported_at=times["reported_at"][index],
            closed_at=closed_at[index],
            verified_at=times["verified_at"][index],
            deadline=times["deadline"][index],
            on_time=[v if isinstance(v, bool) else None for v in on_time.tolist()],
            zone_ptr=zone_ptr,
            zone_ids=zone_ids,
            event_row=np.array(event_row, dtype=np.int64),
            event_kind=kinds,
            event_at=np.array(ats, dtype=np.int64),
            event_from=froms,
            event_to=tos,
            event_extra=extras,
        )


def _category_departments() -> dict[int, int]:
    return {pk: dep or 0 for pk, dep in Category.objects.values_list("id", "department_id")}


def _area_ids(areas: Areas) -> dict:
    """Database ids of the bulk geocoder's areas, by level in its order (and zones by code)."""

    def ids(model, codes: list[str]) -> np.ndarray:
        by_code = dict(model.objects.values_list("code", "id"))
        return np.array([by_code[c] for c in codes], dtype=np.int64)

    return {
        "subdistricts": ids(Subdistrict, areas.subdistricts.codes),
        "communities": ids(Community, areas.communities.codes),
        "grids": ids(UnitGrid, areas.grids.codes),
        "zones": dict(ResponsibilityZone.objects.values_list("code", "id")),
    }


@lru_cache(maxsize=2)
def _to_storage() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(WGS84, STORAGE_SRID, always_xy=True)


def _lookup(ids: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Database ids of level indexes; 0 where the index is -1."""
    out = np.zeros(len(index), dtype=np.int64)
    has = index >= 0
    out[has] = ids[index[has]]
    return out


def _existing(ids: pd.Series, sources: pd.Series) -> tuple[np.ndarray, int]:
    """Rows whose archive id is already a case: a historical one (any source) or a live one of
    the same source. Returns (mask, how many)."""
    present = ids[ids != ""].unique().tolist()
    mask = np.zeros(len(ids), dtype=bool)
    if not present:
        return mask, 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_id, source, historical FROM cases_case WHERE external_id = ANY(%s)",
            [present],
        )
        found = cursor.fetchall()
    historical = {e for e, _, h in found if h}
    live = {(e, s) for e, s, h in found if not h}
    values, srcs = ids.tolist(), sources.fillna("").tolist()
    for i, (e, s) in enumerate(zip(values, srcs, strict=True)):
        if e and (e in historical or (e, s) in live):
            mask[i] = True
    return mask, int(mask.sum())


# --- writing ---------------------------------------------------------------------------------


def _timestamps(us: np.ndarray) -> pa.Array:
    """UTC microseconds → a timestamp column (null for ``_NAT``)."""
    return pa.array(us, type=pa.int64(), mask=us == _NAT).cast(pa.timestamp("us", tz="UTC"))


def _ids(values: np.ndarray) -> pa.Array:
    """Ids → an id column (null for 0)."""
    return pa.array(values, type=pa.int64(), mask=values == 0)


def _new_trackings(n: int) -> list[str]:
    """``n`` distinct random tracking codes like ``case_report`` gives (GM + 10 characters).
    The alphabet has 32 letters, so a random byte modulo 32 picks each one equally often."""
    alphabet = np.frombuffer(TRACKING_ALPHABET.encode(), dtype=np.uint8)
    codes: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        want = n - len(out)
        raw = np.frombuffer(secrets.token_bytes(want * 10), dtype=np.uint8) % len(alphabet)
        text = alphabet[raw].tobytes().decode()
        for k in range(want):
            code = "GM" + text[k * 10 : k * 10 + 10]
            if code not in codes:
                codes.add(code)
                out.append(code)
    return out


def _fill_defaults(model, columns: dict[str, pa.Array], n: int) -> dict[str, pa.Array]:
    """Columns of ``model`` not given get their Django default (NOT NULL ones) — so that a field
    added to the model later does not break the COPY."""
    out = dict(columns)
    for f in model._meta.concrete_fields:
        if f.column in out or f.primary_key or f.null:
            continue
        default = f.get_default()
        if isinstance(default, dict | list):
            default = json.dumps(default)
        out[f.column] = pa.array([default] * n)
    return out


def _case_table(rows: ArchiveRows, ids: np.ndarray, now) -> pa.Table:
    """``cases_case`` rows: number like live cases (local report date + id), a random tracking
    code, the geocoded areas, the final stage."""
    n = len(rows)
    reported = _timestamps(rows.reported_at)
    local_days = (
        pd.Series(pd.to_datetime(rows.reported_at, unit="us", utc=True))
        .dt.tz_convert(settings.TIME_ZONE)
        .dt.strftime("%Y%m%d")
    )
    numbers = [f"{d}{i:07d}" for d, i in zip(local_days.tolist(), ids.tolist(), strict=True)]
    geoms = shapely.set_srid(shapely.points(rows.x, rows.y), STORAGE_SRID)
    columns = {
        "id": pa.array(ids, type=pa.int64()),
        "number": pa.array(numbers),
        "tracking": pa.array(_new_trackings(n)),
        "source": pa.array(rows.source, type=pa.string()),
        "stage": pa.array(rows.stage, type=pa.string()),
        "description": pa.array(rows.description, type=pa.string()),
        "address": pa.array([a[:300] for a in rows.address], type=pa.string()),
        "geom": pa.array(shapely.to_wkb(geoms, hex=True, include_srid=True).tolist()),
        "reported_at": reported,
        "created_at": pa.array([now] * n, type=pa.timestamp("us", tz="UTC")),
        "external_id": pa.array(rows.external_id, type=pa.string()),
        "closed_at": _timestamps(rows.closed_at),
        "verified_at": _timestamps(rows.verified_at),
        "historical": pa.array([True] * n),
        "category_id": pa.array(rows.category_id, type=pa.int64()),
        "department_id": _ids(rows.department_id),
        "subdistrict_id": _ids(rows.subdistrict_id),
        "community_id": _ids(rows.community_id),
        "grid_id": _ids(rows.grid_id),
    }
    return pa.table(_fill_defaults(Case, columns, n))


def _zone_table(rows: ArchiveRows, ids: np.ndarray) -> pa.Table:
    """``cases_case_zones`` rows: every zone covering each case's point."""
    through = Case.zones.through
    case_column = through._meta.get_field("case").column
    zone_column = through._meta.get_field("responsibilityzone").column
    return pa.table(
        {
            case_column: pa.array(np.repeat(ids, np.diff(rows.zone_ptr)), type=pa.int64()),
            zone_column: pa.array(rows.zone_ids, type=pa.int64()),
        }
    )


def _event_table(rows: ArchiveRows, ids: np.ndarray, *, archive: str, tz: ZoneInfo) -> pa.Table:
    """``cases_caseevent`` rows: one per timestamp, with the stage transition it stands for.

    Every event's data says ``historical: true`` and the archive row; the ``report`` event also
    carries the case's archive facts (its id, the file, the deadline and on-time flag of the
    archive) for the clock rows to be derived from.
    """
    n = len(rows.event_row)
    first = np.flatnonzero(np.diff(rows.event_row, prepend=-1) != 0)
    # The plain events' data as text directly (hundreds of thousands of them); json.dumps only
    # for what carries free text.
    suffixes: dict[str, str] = {}

    def suffix(extra: dict | None) -> str:
        if not extra:
            return ""
        key = json.dumps(extra, ensure_ascii=False, sort_keys=True)
        return suffixes.setdefault(key, ", " + key[1:-1])

    data = [
        f'{{"historical": true, "archive_row": {r}{suffix(extra)}}}'
        for r, extra in zip(rows.row[rows.event_row].tolist(), rows.event_extra, strict=True)
    ]
    notes = [""] * n
    event_geoms: list[str | None] = [None] * n
    due = _local_iso(rows.deadline, tz)
    geoms = shapely.set_srid(shapely.points(rows.x, rows.y), STORAGE_SRID)
    hex_geoms = shapely.to_wkb(geoms, hex=True, include_srid=True).tolist()
    archive_rows = rows.row.tolist()
    for k, j in zip(first.tolist(), rows.event_row[first].tolist(), strict=True):
        facts = {
            "historical": True,
            "archive": archive,
            "archive_row": archive_rows[j],
            "external_id": rows.external_id[j],
            "source": rows.source[j],
        }
        if due[j] is not None:
            facts["disposal_due_at"] = due[j]
        if rows.on_time[j] is not None:
            facts["disposal_on_time"] = rows.on_time[j]
        data[k] = json.dumps(facts, ensure_ascii=False)
        notes[k] = rows.description[j][:500]
        event_geoms[k] = hex_geoms[j]
    columns = {
        "case_id": pa.array(ids[rows.event_row], type=pa.int64()),
        "kind": pa.array(rows.event_kind, type=pa.string()),
        "at": _timestamps(rows.event_at),
        "from_stage": pa.array(rows.event_from, type=pa.string()),
        "to_stage": pa.array(rows.event_to, type=pa.string()),
        "geom": pa.array(event_geoms, type=pa.string()),
        "note": pa.array(notes, type=pa.string()),
        "data": pa.array(data, type=pa.string()),
    }
    return pa.table(_fill_defaults(CaseEvent, columns, n))


# Which event stops which clock, and which starts it (as the live loop does; cases/workflow.py).
# Video feedback has no timestamp in archives, so history has no feedback clock.
_CLOCK_SPANS = (
    # kind, started by, stopped by (first found)
    ("filing", ("report",), ("file", "reject")),
    ("dispatch", ("file",), ("dispatch",)),
    ("arrival", ("dispatch",), ("arrive",)),
    ("disposal", ("dispatch",), ("handle",)),
    ("verification", ("handle",), ("verify", "close")),
)


def _clock_table(rows: ArchiveRows, ids: np.ndarray, *, now) -> pa.Table:
    """``cases_clock`` rows derived from the events, so that evaluation reads history's clocks
    like live ones. Limits are today's (short clocks in minutes, disposal by the category in
    working time) unless the archive gives the disposal deadline; its on-time flag, when given,
    decides the disposal outcome. A clock the case left running when it was voided or rejected
    is cancelled; one still running and already overdue at the import counts as escalated then
    (history must not flood today's inboxes)."""
    categories = {c.pk: c for c in Category.objects.prefetch_related("time_limits").all()}
    default_disposal = settings.GRIDMAP_DEFAULT_DISPOSAL_LIMIT.split()

    def disposal_limit(category) -> tuple[float, str]:
        for limit in category.time_limits.all():
            if limit.condition == "any" and not limit.urgent:
                return limit.value, limit.unit
        return float(default_disposal[0]), default_disposal[1]

    verification = settings.GRIDMAP_VERIFICATION_LIMIT.split()
    out: dict[str, list] = {
        c: []
        for c in (
            "case_id",
            "kind",
            "started_at",
            "due_at",
            "limit_value",
            "limit_unit",
            "met_at",
            "outcome",
            "escalated_at",
        )
    }
    starts = [
        *np.flatnonzero(np.diff(rows.event_row, prepend=-1) != 0).tolist(),
        len(rows.event_row),
    ]
    kinds, times = rows.event_kind, rows.event_at
    for a, b in pairwise(starts):
        j = int(rows.event_row[a])
        at = {}
        for k in range(a, b):
            at.setdefault(kinds[k], int(times[k]))
        category = categories[int(rows.category_id[j])]
        finished = next((at[e] for e in ("void", "reject", "close") if e in at), None)
        for kind, started_by, stopped_by in _CLOCK_SPANS:
            start = next((at[e] for e in started_by if e in at), None)
            if start is None:
                continue
            start_dt = pd.Timestamp(start, unit="us", tz="UTC").to_pydatetime()
            if kind == "disposal":
                value, unit = disposal_limit(category)
            elif kind == "verification":
                value, unit = float(verification[0]), verification[1]
            else:
                value = float(
                    category.clock_minutes.get(kind) or settings.GRIDMAP_CLOCK_MINUTES[kind]
                )
                unit = "minutes"
            due = due_after(start_dt, value, unit)
            if kind == "disposal" and rows.deadline[j] != _NAT:
                due = pd.Timestamp(int(rows.deadline[j]), unit="us", tz="UTC").to_pydatetime()
            stop = next((at[e] for e in stopped_by if e in at), None)
            escalated = None
            if stop is not None:
                met = pd.Timestamp(stop, unit="us", tz="UTC").to_pydatetime()
                outcome = "met" if met <= due else "late"
                if kind == "disposal" and rows.on_time[j] is not None:
                    outcome = "met" if rows.on_time[j] else "late"
            elif finished is not None:
                met = pd.Timestamp(finished, unit="us", tz="UTC").to_pydatetime()
                outcome = "cancelled"
            else:
                met, outcome = None, "open"
                escalated = now if due <= now else None
            out["case_id"].append(int(ids[j]))
            out["kind"].append(kind)
            out["started_at"].append(start_dt)
            out["due_at"].append(due)
            out["limit_value"].append(value)
            out["limit_unit"].append(unit)
            out["met_at"].append(met)
            out["outcome"].append(outcome)
            out["escalated_at"].append(escalated)
    n = len(out["case_id"])
    stamp = pa.timestamp("us", tz="UTC")
    columns = {
        "case_id": pa.array(out["case_id"], type=pa.int64()),
        "kind": pa.array(out["kind"], type=pa.string()),
        "started_at": pa.array(out["started_at"], type=stamp),
        "due_at": pa.array(out["due_at"], type=stamp),
        "limit_value": pa.array(out["limit_value"], type=pa.float64()),
        "limit_unit": pa.array(out["limit_unit"], type=pa.string()),
        "met_at": pa.array(out["met_at"], type=stamp),
        "outcome": pa.array(out["outcome"], type=pa.string()),
        "escalated_at": pa.array(out["escalated_at"], type=stamp),
    }
    return pa.table(_fill_defaults(Clock, columns, n))


def _copy(cursor, table_name: str, table: pa.Table, advance: Callable[[int], object]) -> None:
    """COPY a table's rows in (CSV: empty unquoted = NULL, quoted "" = empty text)."""
    names = ", ".join(f'"{c}"' for c in table.column_names)
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    with cursor.copy(f"COPY {table_name} ({names}) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, table.num_rows, COPY_CHUNK):
            chunk = table.slice(start, COPY_CHUNK)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(chunk, sink, options)
            copy.write(sink.getvalue().to_pybytes())
            advance(chunk.num_rows)


def _case_ids(cursor, n: int) -> np.ndarray:
    """``n`` ids from the case table's own sequence, in one query, so that events and zone links
    can name their case before it is written."""
    if not n:
        return np.zeros(0, dtype=np.int64)
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('cases_case', 'id')) FROM generate_series(1, %s)",
        [n],
    )
    return np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)


# --- the whole import ------------------------------------------------------------------------

#: ``progress(phase, total)`` starts a phase and returns the function that advances it.
Progress = Callable[[str, int], Callable[[int], object]]


def _no_progress(phase: str, total: int) -> Callable[[int], object]:
    return lambda n: None


def archive_import(
    *,
    path: str | Path,
    mapping: Mapping,
    skip_bad: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    areas: Areas | None = None,
) -> ArchiveReport:
    """Import a historical case archive (CSV or Excel) as ``mapping`` says; all-or-nothing.

    Every row is checked first. Bad rows (``ArchiveReport.bad``, each with its row number and
    reason) stop the import — nothing is written — unless ``skip_bad``, when the good rows are
    imported and the bad ones reported. Rows already imported (same archive id) are skipped.
    The writes are COPYs inside one transaction, so a failure leaves nothing behind; concurrent
    imports wait for each other (an advisory lock). ``dry_run`` checks and counts, writes
    nothing. Raises ``ArchiveError`` when the mapping or the file as a whole is unusable.
    """
    started = timezone.now()
    progress = progress or _no_progress
    path = Path(path)
    report = ArchiveReport(source=path.name, skip_bad=skip_bad, dry_run=dry_run)
    frame = archive_read(path, mapping)
    report.rows = len(frame)
    progress("read", len(frame))(len(frame))
    known = _known_values()
    _check_value_maps(mapping, known)
    if areas is None:
        areas = areas_load()
    if not len(areas.districts):
        raise ArchiveError("there is no district to import cases into: import_district first")

    with transaction.atomic():
        with connection.cursor() as cursor:
            # One import at a time: the check for rows already present stays true until commit.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('gridmap.import_cases'))")
        advance = progress("check", len(frame))
        sources, _, _ = _translate(frame, mapping, "source", known["source"])
        existing, report.existing = _existing(frame["id"], sources)
        now_us = int(pd.Timestamp(started).value // 1000)
        checker = _Checker(frame[~existing].reset_index(drop=True), mapping, areas, now_us)
        rows = checker.run(known)
        advance(len(frame))
        report.bad = checker.problems.bad_rows(checker.field("id"))
        report.imported = len(rows)
        report.events = len(rows.event_row)
        report.zone_links = len(rows.zone_ids)
        report.stages = Counter(rows.stage)
        if not report.ok or dry_run or not len(rows):
            report.seconds = (timezone.now() - started).total_seconds()
            return report
        with connection.cursor() as cursor:
            ids = _case_ids(cursor, len(rows))
            # One function per table, each giving that table's rows for COPY.
            tables = (
                (Case._meta.db_table, lambda: _case_table(rows, ids, started)),
                (Case.zones.through._meta.db_table, lambda: _zone_table(rows, ids)),
                (
                    CaseEvent._meta.db_table,
                    lambda: _event_table(rows, ids, archive=path.name, tz=mapping.tz),
                ),
                (Clock._meta.db_table, lambda: _clock_table(rows, ids, now=started)),
            )
            for name, build in tables:
                table = build()
                _copy(cursor, name, table, progress(f"write {name}", table.num_rows))
            durations_fill(case_ids=ids)
        # Deferred foreign keys are checked at commit: part of the import's time.
        committed = progress("commit", 1)
    committed(1)
    report.written = True
    report.seconds = (timezone.now() - started).total_seconds()
    return report
