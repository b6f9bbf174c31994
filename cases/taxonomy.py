"""The taxonomy of case categories (案件类别) as data: read, checked, imported, exported.

The standard taxonomy ships as ``cases/data/categories.yaml`` (migration 0003 loads it, so a
fresh deployment has it); a district edits it in the admin or exchanges it as a file:

- **YAML** — ``{"categories": [entry, …]}``; an entry names its fields (``code``,
  ``major_name``, ``minor_name``, ``public_name``, ``component_class``, ``department``,
  ``filing_criterion``, ``closing_criterion``, ``time_limits``, ``duplicate_radius_m``,
  ``duplicate_window_h``, ``remit``, ``active``; ``kind``, ``major_code`` and ``minor_code``
  may be given and must then agree with the code). ``time_limits`` is a list of
  ``{value, unit, condition, urgent, note}``.
- **CSV / XLSX** — the flat layout ``FLAT_COLUMNS``: one row per time limit, the category's
  columns repeated on each of its rows (they must agree); ``remit`` tags comma-separated.

A code is the kind's letter and the standard's 2-digit major and minor class: ``C0110`` 部件 /
公用设施 / 路灯, ``E0102`` 事件 / 市容环境 / 暴露垃圾. The four fields of the published tables
are 立案标准 (``filing_criterion``), 处置时限 (the time limits), 结案标准
(``closing_criterion``) and 责任单位 (``department``, written as a department's name or code).

Importing checks everything first and writes nothing unless all is well; categories are upserted
by code, each category's time limits replaced; ``replace`` deactivates (never deletes) the
categories the file no longer has, because cases refer to them.
"""

import csv
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import DatabaseError, transaction
from django.db.models import QuerySet

from gridmap.models import ComponentClass, Department

from .models import Category, CategoryTimeLimit

SHIPPED = Path(__file__).resolve().parent / "data" / "categories.yaml"
FORMATS = ("yaml", "csv", "xlsx")
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".csv": "csv", ".xlsx": "xlsx"}
CODE_RE = re.compile(r"^([CE])([0-9]{2})([0-9]{2})$")
KIND_BY_LETTER = {"C": Category.Kind.COMPONENT.value, "E": Category.Kind.EVENT.value}
KIND_ALIASES = {"component": "component", "部件": "component", "event": "event", "事件": "event"}
UNIT_ALIASES = {
    **{u: u for u in CategoryTimeLimit.Unit.values},
    "工作时": "working_hours",
    "工作小时": "working_hours",
    "工作日": "working_days",
    "分钟": "minutes",
}
CONDITION_ALIASES = {
    **{c: c for c in CategoryTimeLimit.Condition.values},
    "任意": "any",
    "主干道": "main_road",
    "背街小巷": "back_street",
}
TRUE = {"true", "yes", "y", "1", "是"}
FALSE = {"false", "no", "n", "0", "否"}
DEFAULT_RADIUS_M = 50.0
DEFAULT_WINDOW_H = 24.0
#: The flat layout of CSV and XLSX files: category columns, then one time limit per row.
CATEGORY_COLUMNS = [
    "code",
    "kind",
    "major_code",
    "major_name",
    "minor_code",
    "minor_name",
    "public_name",
    "component_class",
    "department",
    "filing_criterion",
    "closing_criterion",
    "duplicate_radius_m",
    "duplicate_window_h",
    "remit",
    "active",
]
LIMIT_COLUMNS = ["condition", "urgent", "value", "unit", "note"]
FLAT_COLUMNS = CATEGORY_COLUMNS + LIMIT_COLUMNS
ENTRY_KEYS = {*CATEGORY_COLUMNS, "time_limits"}
LIMIT_KEYS = set(LIMIT_COLUMNS)
#: The key under which a flat file's time limit remembers its row.
WHERE = "_where"
MAX_LENGTHS = {"major_name": 60, "minor_name": 60, "public_name": 100, "remit": 60, "note": 200}


class TaxonomyError(Exception):
    """The taxonomy file cannot be used (the message says why and where)."""


@dataclass(frozen=True)
class TimeLimitSpec:
    """One 处置时限 of a category: ``value`` ``unit`` for a condition and urgency."""

    condition: str
    urgent: bool
    value: float
    unit: str
    note: str = ""


@dataclass(frozen=True)
class CategorySpec:
    """A category as a file states it (checked, not yet matched against the database)."""

    code: str
    kind: str
    major_code: str
    major_name: str
    minor_code: str
    minor_name: str
    public_name: str = ""
    component_class: str = ""
    department: str = ""
    filing_criterion: str = ""
    closing_criterion: str = ""
    duplicate_radius_m: float = DEFAULT_RADIUS_M
    duplicate_window_h: float = DEFAULT_WINDOW_H
    remit: tuple[str, ...] = ()
    active: bool = True
    time_limits: tuple[TimeLimitSpec, ...] = ()
    #: Where the file states it ("entry 3", "row 12"), for messages.
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class Problem:
    """One problem, with the place in the file and the category code it concerns."""

    message: str
    where: str = ""
    code: str = ""
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        place = ", ".join(p for p in (self.where, f"code {self.code}" if self.code else "") if p)
        return f"{self.severity}{f' [{place}]' if place else ''}: {self.message}"


@dataclass
class TaxonomyReport:
    """What an import did (or, in a dry run or after an error, would have done)."""

    source: str
    categories: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    dry_run: bool = False
    written: bool = False
    problems: list[Problem] = field(default_factory=list)

    def error(self, message: str, *, where: str = "", code: str = "") -> None:
        self.problems.append(Problem(message, where, code, "error"))

    def warning(self, message: str, *, where: str = "", code: str = "") -> None:
        self.problems.append(Problem(message, where, code, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            outcome = f"NOT imported: {len(self.errors)} error(s); nothing was written"
        elif self.dry_run:
            outcome = "dry run: valid, nothing written"
        else:
            outcome = "imported"
        return (
            f"{self.source}: {self.categories} categories; {self.created} new, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.deactivated} deactivated; "
            f"{len(self.warnings)} warning(s). {outcome}."
        )

    def lines(self, *, limit: int | None = None) -> list[str]:
        """The report as text: problems (errors first), then the summary."""
        problems = self.errors + self.warnings
        shown = problems if limit is None else problems[:limit]
        out = [str(p) for p in shown]
        if len(shown) < len(problems):
            out.append(f"… and {len(problems) - len(shown)} more problem(s)")
        out.append(self.summary())
        return out


# --- Reading files ------------------------------------------------------------------------------


def format_for_path(path: str | Path) -> str:
    """The format (yaml, csv, xlsx) a file name's extension stands for."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise TaxonomyError(
            f"{Path(path).name}: expected a .yaml, .yml, .csv or .xlsx file, not {suffix!r}"
        )
    return SUFFIXES[suffix]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _entries_from_yaml(text: str | bytes) -> list[tuple[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"not valid YAML: {exc}") from None
    return _entries_from_data(data)


def _entries_from_data(data: Any) -> list[tuple[str, Any]]:
    if isinstance(data, dict) and "categories" in data:
        data = data["categories"]
    if not isinstance(data, list):
        raise TaxonomyError("expected a list of categories (or a mapping with 'categories')")
    return [(f"entry {i}", entry) for i, entry in enumerate(data, start=1)]


def _flat_rows_from_csv(content: bytes) -> list[dict[str, Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TaxonomyError("a CSV file must be UTF-8 (save it as 'CSV UTF-8')") from None
    return list(csv.DictReader(io.StringIO(text)))


def _flat_rows_from_xlsx(content: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise TaxonomyError(f"not a readable Excel workbook: {exc}") from None
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    out = [dict(zip(header, row, strict=False)) for row in rows]
    book.close()
    return [r for r in out if not all(_blank(v) for v in r.values())]


def _entries_from_flat(rows: list[dict[str, Any]], report: TaxonomyReport) -> list[tuple]:
    """Group the flat rows (one per time limit) into entries; row 1 is the header."""
    if rows:
        if "code" not in rows[0]:
            raise TaxonomyError("the header has no 'code' column")
        for column in rows[0]:
            if column and column not in FLAT_COLUMNS:
                report.warning(f"column {column!r} is not one of ours; ignored", where="header")
    entries: dict[str, dict] = {}
    places: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        where = f"row {number}"
        code = _text(row.get("code")).upper()
        category = {k: row.get(k) for k in CATEGORY_COLUMNS if not _blank(row.get(k))}
        limit = {k: row.get(k) for k in LIMIT_COLUMNS if not _blank(row.get(k))}
        key = code or where
        if key not in entries:
            entries[key] = {**category, "time_limits": []}
            places[key] = where
        else:
            first = {k: v for k, v in entries[key].items() if k != "time_limits"}
            for column in sorted(set(first) | set(category)):
                if _text(first.get(column)) != _text(category.get(column)):
                    report.error(
                        f"column {column!r} differs from {places[key]} of the same category "
                        f"({_text(category.get(column))!r} vs {_text(first.get(column))!r})",
                        where=where,
                        code=code,
                    )
        if limit:
            entries[key]["time_limits"].append({**limit, WHERE: where})
    return [(places[k], e) for k, e in entries.items()]


def read_categories(
    *,
    path: str | Path | None = None,
    data: Any = None,
    format: str | None = None,
) -> tuple[list[CategorySpec], TaxonomyReport]:
    """Read and check a taxonomy without touching the database.

    ``path`` is a .yaml/.csv/.xlsx file; or ``data`` is the parsed YAML structure, or the bytes
    of a file in ``format``. Returns the categories and a report; a category with an error is
    left out of the list and the report is not ``ok``.
    """
    source = str(path) if path is not None else "data"
    report = TaxonomyReport(source=source)
    try:
        if path is not None:
            fmt = format or format_for_path(path)
            content: Any = Path(path).read_bytes()
        elif isinstance(data, (bytes, str)):
            fmt = format or "yaml"
            content = data.encode() if isinstance(data, str) else data
        else:
            fmt, content = "data", data
        if fmt == "yaml":
            entries = _entries_from_yaml(content)
        elif fmt == "csv":
            entries = _entries_from_flat(_flat_rows_from_csv(content), report)
        elif fmt == "xlsx":
            entries = _entries_from_flat(_flat_rows_from_xlsx(content), report)
        elif fmt == "data":
            entries = _entries_from_data(content)
        else:
            raise TaxonomyError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    except (OSError, TaxonomyError) as exc:
        report.error(str(exc))
        return [], report
    specs = [s for where, raw in entries if (s := _parse_entry(where, raw, report))]
    report.categories = len(entries)
    _check_file(specs, report)
    return specs, report


# --- Checking one entry -------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _digits(value: Any, width: int) -> str:
    """A class code as text; YAML and Excel turn ``01`` into the number 1."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:0{width}d}"
    return _text(value)


def _number(value: Any) -> float | None:
    """A positive finite number, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _flag(value: Any, default: bool) -> bool | None:
    if _blank(value):
        return default
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    return True if text in TRUE else False if text in FALSE else None


def _tags(value: Any) -> tuple[str, ...] | None:
    if _blank(value):
        return ()
    if isinstance(value, str):
        value = re.split(r"[,，;；、]", value)
    if not isinstance(value, (list, tuple)):
        return None
    if not all(isinstance(v, str) for v in value):
        return None
    return tuple(_text(v) for v in value if not _blank(v))


def _parse_limit(raw: Any, fail) -> TimeLimitSpec | None:
    if not isinstance(raw, dict):
        fail(f"a time limit must be a mapping with value and unit, not {raw!r}")
        return None
    ok = True
    if unknown := set(raw) - LIMIT_KEYS:
        fail(f"unknown time-limit field(s) {', '.join(sorted(map(str, unknown)))}")
        ok = False
    value = _number(raw.get("value"))
    if value is None:
        fail(f"time-limit value {raw.get('value')!r} is not a positive number")
        ok = False
    unit = UNIT_ALIASES.get(_text(raw.get("unit")))
    if unit is None:
        fail(
            f"time-limit unit {raw.get('unit')!r} is not one of "
            f"{', '.join(CategoryTimeLimit.Unit.values)}"
        )
        ok = False
    condition = CONDITION_ALIASES.get(_text(raw.get("condition")) or "any")
    if condition is None:
        fail(
            f"time-limit condition {raw.get('condition')!r} is not one of "
            f"{', '.join(CategoryTimeLimit.Condition.values)}"
        )
        ok = False
    urgent = _flag(raw.get("urgent"), False)
    if urgent is None:
        fail(f"time-limit urgent {raw.get('urgent')!r} is not true or false")
        ok = False
    note = _text(raw.get("note"))
    if len(note) > MAX_LENGTHS["note"]:
        fail(f"time-limit note is longer than {MAX_LENGTHS['note']} characters")
        ok = False
    return TimeLimitSpec(condition, urgent, value, unit, note) if ok else None


def _parse_entry(where: str, raw: Any, report: TaxonomyReport) -> CategorySpec | None:
    """Check one entry; report every problem with its place and code."""
    if not isinstance(raw, dict):
        report.error(f"expected a mapping of fields, not {type(raw).__name__}", where=where)
        return None
    code = _text(raw.get("code")).upper()
    errors = len(report.errors)

    def fail(message: str) -> None:
        report.error(message, where=where, code=code)

    def warn(message: str) -> None:
        report.warning(message, where=where, code=code)

    if unknown := set(raw) - ENTRY_KEYS:
        fail(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    match = CODE_RE.match(code)
    if not match:
        fail(f"code {code!r} is not C (部件) or E (事件) followed by 2-digit major + minor class")
        return None
    letter, major, minor = match.groups()
    kind = KIND_BY_LETTER[letter]
    if not _blank(raw.get("kind")) and KIND_ALIASES.get(_text(raw["kind"])) != kind:
        fail(f"kind {raw['kind']!r} does not agree with the code (a {letter} code is {kind})")
    for key, digits in (("major_code", major), ("minor_code", minor)):
        if not _blank(raw.get(key)) and _digits(raw[key], 2) != digits:
            fail(f"{key} {raw[key]!r} does not agree with the code ({digits})")
    values: dict[str, Any] = {}
    for key in ("major_name", "minor_name", "public_name", "department"):
        values[key] = _text(raw.get(key))
        if len(values[key]) > MAX_LENGTHS.get(key, 200):
            fail(f"{key} is longer than {MAX_LENGTHS.get(key, 200)} characters")
    for key in ("major_name", "minor_name"):
        if not values[key]:
            fail(f"no {key}")
    for key, label in (("filing_criterion", "立案标准"), ("closing_criterion", "结案标准")):
        values[key] = _text(raw.get(key))
        if not values[key]:
            warn(f"no {key} ({label})")
    component_class = _digits(raw.get("component_class"), 4)
    if kind == "component":
        component_class = component_class or major + minor
        if not re.fullmatch(r"[0-9]{4}", component_class):
            fail(f"component_class {component_class!r} is not 4 digits (major + minor class)")
    elif component_class:
        fail("an event (事件) has no component_class")
    for key, default in (
        ("duplicate_radius_m", DEFAULT_RADIUS_M),
        ("duplicate_window_h", DEFAULT_WINDOW_H),
    ):
        values[key] = default if _blank(raw.get(key)) else _number(raw[key])
        if values[key] is None:
            fail(f"{key} {raw[key]!r} is not a positive number")
    remit = _tags(raw.get("remit"))
    if remit is None:
        fail(f"remit {raw.get('remit')!r} is not a list of tags")
    elif len(",".join(remit)) > MAX_LENGTHS["remit"]:
        fail(f"remit tags take more than {MAX_LENGTHS['remit']} characters together")
    active = _flag(raw.get("active"), True)
    if active is None:
        fail(f"active {raw.get('active')!r} is not true or false")
    raw_limits = raw.get("time_limits") or []
    if not isinstance(raw_limits, list):
        fail("time_limits must be a list")
        raw_limits = []
    limits = []
    for number, limit in enumerate(raw_limits, start=1):
        place = f"{where}, time limit {number}"
        if isinstance(limit, dict):
            place = limit.get(WHERE, place)
            limit = {k: v for k, v in limit.items() if k != WHERE}

        def fail_here(message: str, place: str = place) -> None:
            report.error(message, where=place, code=code)

        limits.append(_parse_limit(limit, fail_here))
    seen = set()
    for limit in filter(None, limits):
        key = (limit.condition, limit.urgent)
        if key in seen:
            fail(f"two time limits for condition {limit.condition}, urgent {limit.urgent}")
        seen.add(key)
    if ("any", False) not in seen and all(limits):
        fail("no time limit (处置时限) for condition any, not urgent")
    if len(report.errors) > errors:
        return None
    return CategorySpec(
        code=code,
        kind=kind,
        major_code=major,
        minor_code=minor,
        component_class=component_class,
        remit=remit,
        active=active,
        time_limits=tuple(sorted(limits, key=_limit_order)),
        where=where,
        **values,
    )


def _limit_order(limit: TimeLimitSpec) -> tuple:
    return (limit.urgent, CategoryTimeLimit.Condition.values.index(limit.condition))


def _check_file(specs: list[CategorySpec], report: TaxonomyReport) -> None:
    """Checks across entries: unique codes, one name per major class."""
    first: dict[str, CategorySpec] = {}
    majors: dict[tuple[str, str], CategorySpec] = {}
    for spec in specs:
        if spec.code in first:
            report.error(
                f"duplicate code (also {first[spec.code].where})", where=spec.where, code=spec.code
            )
        first.setdefault(spec.code, spec)
        other = majors.setdefault((spec.kind, spec.major_code), spec)
        if other.major_name != spec.major_name:
            report.warning(
                f"major class {spec.major_code} is named {spec.major_name!r} here but "
                f"{other.major_name!r} in {other.code}",
                where=spec.where,
                code=spec.code,
            )


# --- Matching against the database and writing --------------------------------------------------


class _Departments:
    """Departments by code, then by name (a name two departments share is ambiguous)."""

    def __init__(self) -> None:
        self.by_code: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = defaultdict(list)
        for pk, code, name in Department.objects.values_list("pk", "code", "name"):
            self.by_code[code] = pk
            self.by_name[name].append(pk)

    def find(self, label: str) -> tuple[int | None, str]:
        """(id, "") or (None, why not)."""
        if label in self.by_code:
            return self.by_code[label], ""
        ids = self.by_name.get(label, [])
        if len(ids) == 1:
            return ids[0], ""
        if ids:
            return None, f"{len(ids)} departments are named {label!r}; write its code"
        return None, f"no department with the name or code {label!r}"


def _model_values(spec: CategorySpec, department_id, class_id) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "major_code": spec.major_code,
        "major_name": spec.major_name,
        "minor_code": spec.minor_code,
        "minor_name": spec.minor_name,
        "public_name": spec.public_name,
        "filing_criterion": spec.filing_criterion,
        "closing_criterion": spec.closing_criterion,
        "department_id": department_id,
        "component_class_id": class_id,
        "duplicate_radius_m": spec.duplicate_radius_m,
        "duplicate_window_h": spec.duplicate_window_h,
        "remit": ",".join(spec.remit),
        "active": spec.active,
    }


def _limits_of(category: Category) -> set[TimeLimitSpec]:
    return {
        TimeLimitSpec(t.condition, t.urgent, t.value, t.unit, t.note)
        for t in category.time_limits.all()
    }


def _new_limits(category: Category, spec: CategorySpec) -> list[CategoryTimeLimit]:
    return [
        CategoryTimeLimit(
            category=category,
            condition=t.condition,
            urgent=t.urgent,
            value=t.value,
            unit=t.unit,
            note=t.note,
        )
        for t in spec.time_limits
    ]


def categories_import(
    *,
    path: str | Path | None = None,
    data: Any = None,
    format: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    strict: bool = False,
) -> TaxonomyReport:
    """Import a taxonomy file (see the module docstring): check everything, then upsert by code.

    A department is found by code, else by name; one that is not found is a warning and the
    category is kept without a responsible department (an error when ``strict``). Each
    category's time limits are replaced by the file's. ``replace`` deactivates
    (``active=False``) the categories the file does not list. All-or-nothing: with any error,
    or with ``dry_run``, nothing is written; the report says what would change.
    """
    specs, report = read_categories(path=path, data=data, format=format)
    report.dry_run = dry_run
    if not report.ok:
        return report
    classes = {
        f"{major}{minor}": pk
        for pk, major, minor in ComponentClass.objects.values_list("pk", "major_code", "minor_code")
    }
    class_names = {
        f"{c.major_code}{c.minor_code}": (c.major_name, c.minor_name)
        for c in ComponentClass.objects.all()
    }
    departments = _Departments()
    existing = {c.code: c for c in Category.objects.prefetch_related("time_limits")}
    by_class = {(c.kind, c.major_code, c.minor_code): c.code for c in existing.values()}
    planned: list[tuple[CategorySpec, dict[str, Any], Category | None, bool]] = []
    unlinked: dict[str, list[str]] = defaultdict(list)
    for spec in specs:
        where = {"where": spec.where, "code": spec.code}
        class_id = None
        if spec.component_class:
            class_id = classes.get(spec.component_class)
            if class_id is None:
                report.error(
                    f"unknown component class {spec.component_class} (in YAML, quote class "
                    'codes: "0110"; a bare 0110 is read as a number)',
                    **where,
                )
            elif class_names[spec.component_class][1] != spec.minor_name:
                report.warning(
                    f"component class {spec.component_class} is named "
                    f"{class_names[spec.component_class][1]!r}, the category {spec.minor_name!r}",
                    **where,
                )
        department_id, why = departments.find(spec.department) if spec.department else (None, "")
        if department_id is None:
            unlinked[why or "no responsible department (责任单位)"].append(spec.code)
        other = by_class.get((spec.kind, spec.major_code, spec.minor_code))
        if other and other != spec.code:
            report.error(f"category {other} already has this kind, major and minor class", **where)
        values = _model_values(spec, department_id, class_id)
        category = existing.get(spec.code)
        if category is None:
            report.created += 1
            planned.append((spec, values, None, True))
            continue
        fields_changed = any(getattr(category, k) != v for k, v in values.items())
        limits_changed = _limits_of(category) != set(spec.time_limits)
        if fields_changed or limits_changed:
            report.updated += 1
            planned.append((spec, values, category, limits_changed))
        else:
            report.unchanged += 1
    # One line per missing department, naming its categories: a fresh database without
    # departments would otherwise print a line per category.
    for why, codes in unlinked.items():
        (report.error if strict else report.warning)(
            f"{why}: {', '.join(codes)}" + ("" if strict else " (kept without a department)")
        )
    listed = {spec.code for spec in specs}
    retired = [c for code, c in existing.items() if replace and code not in listed and c.active]
    report.deactivated = len(retired)
    if not report.ok or dry_run:
        return report
    try:
        with transaction.atomic():
            for spec, values, category, limits_changed in planned:
                if category is None:
                    category = Category.objects.create(code=spec.code, **values)
                else:
                    for key, value in values.items():
                        setattr(category, key, value)
                    category.save()
                if limits_changed:
                    category.time_limits.all().delete()
                    CategoryTimeLimit.objects.bulk_create(_new_limits(category, spec))
            Category.objects.filter(pk__in=[c.pk for c in retired]).update(active=False)
    except DatabaseError as exc:
        report.error(f"the database refused the import, nothing written: {exc}")
        return report
    report.written = True
    return report


def categories_link_departments(*, path: str | Path = SHIPPED) -> int:
    """Give each category without a responsible department (责任单位) the one the taxonomy
    file names, when a department with that code or name exists; returns how many were linked.

    For a deployment whose departments arrive after the migration loaded the taxonomy (the
    demo loader calls it after loading its departments). Departments already set are kept.
    """
    specs, report = read_categories(path=path)
    if not report.ok:
        raise TaxonomyError("\n".join(report.lines(limit=20)))
    departments = _Departments()
    linked = 0
    with transaction.atomic():
        for spec in filter(lambda s: s.department, specs):
            department_id, _why = departments.find(spec.department)
            if department_id is not None:
                linked += Category.objects.filter(code=spec.code, department=None).update(
                    department_id=department_id
                )
    return linked


# --- Exporting ----------------------------------------------------------------------------------


def _number_out(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _spec_of(category: Category, departments: _Departments) -> CategorySpec:
    department = ""
    if category.department_id:
        name = category.department.name
        unique = len(departments.by_name.get(name, [])) == 1
        department = name if unique else category.department.code
    component_class = category.component_class.code if category.component_class_id else ""
    limits = sorted(_limits_of(category), key=_limit_order)
    return CategorySpec(
        code=category.code,
        kind=category.kind,
        major_code=category.major_code,
        major_name=category.major_name,
        minor_code=category.minor_code,
        minor_name=category.minor_name,
        public_name=category.public_name,
        component_class=component_class,
        department=department,
        filing_criterion=category.filing_criterion,
        closing_criterion=category.closing_criterion,
        duplicate_radius_m=category.duplicate_radius_m,
        duplicate_window_h=category.duplicate_window_h,
        remit=tuple(t for t in category.remit.split(",") if t),
        active=category.active,
        time_limits=tuple(limits),
    )


def _yaml_entry(spec: CategorySpec) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": spec.code,
        "major_name": spec.major_name,
        "minor_name": spec.minor_name,
        "public_name": spec.public_name,
    }
    if spec.component_class:
        entry["component_class"] = spec.component_class
    entry.update(
        department=spec.department,
        filing_criterion=spec.filing_criterion,
        closing_criterion=spec.closing_criterion,
        time_limits=[
            {
                "value": _number_out(t.value),
                "unit": t.unit,
                **({"condition": t.condition} if t.condition != "any" else {}),
                **({"urgent": True} if t.urgent else {}),
                **({"note": t.note} if t.note else {}),
            }
            for t in spec.time_limits
        ],
    )
    if spec.duplicate_radius_m != DEFAULT_RADIUS_M:
        entry["duplicate_radius_m"] = _number_out(spec.duplicate_radius_m)
    if spec.duplicate_window_h != DEFAULT_WINDOW_H:
        entry["duplicate_window_h"] = _number_out(spec.duplicate_window_h)
    if spec.remit:
        entry["remit"] = list(spec.remit)
    if not spec.active:
        entry["active"] = False
    return entry


def _flat_rows(spec: CategorySpec) -> list[list[Any]]:
    category = [
        spec.code,
        spec.kind,
        spec.major_code,
        spec.major_name,
        spec.minor_code,
        spec.minor_name,
        spec.public_name,
        spec.component_class,
        spec.department,
        spec.filing_criterion,
        spec.closing_criterion,
        _number_out(spec.duplicate_radius_m),
        _number_out(spec.duplicate_window_h),
        ",".join(spec.remit),
        "true" if spec.active else "false",
    ]
    limits = [
        [t.condition, "true" if t.urgent else "false", _number_out(t.value), t.unit, t.note]
        for t in spec.time_limits
    ] or [[""] * len(LIMIT_COLUMNS)]
    return [category + limit for limit in limits]


def categories_export(
    *,
    format: str = "yaml",
    categories: QuerySet[Category] | None = None,
) -> bytes:
    """The categories (all, or the given queryset) as a file that ``categories_import`` reads
    back unchanged: YAML like the shipped file, or the flat CSV (UTF-8 with BOM, for Excel) /
    XLSX layout of ``FLAT_COLUMNS``, one row per time limit. Inactive categories included."""
    if format not in FORMATS:
        raise TaxonomyError(f"unknown format {format!r}: expected one of {', '.join(FORMATS)}")
    queryset = categories if categories is not None else Category.objects.all()
    queryset = queryset.select_related("department", "component_class").prefetch_related(
        "time_limits"
    )
    departments = _Departments()
    specs = [_spec_of(c, departments) for c in queryset.order_by("code")]
    if format == "yaml":
        header = "# gridmap case categories (案件类别); import with manage.py import_categories\n"
        body = yaml.safe_dump(
            {"categories": [_yaml_entry(s) for s in specs]},
            allow_unicode=True,
            sort_keys=False,
            width=100,
        )
        return (header + body).encode("utf-8")
    rows = [row for spec in specs for row in _flat_rows(spec)]
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FLAT_COLUMNS)
        writer.writerows(rows)
        return out.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "categories"
    sheet.append(FLAT_COLUMNS)
    for row in rows:
        sheet.append(row)
    # Text cells stay text when someone edits them in Excel ("0110" would become 110).
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.number_format = "@"
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = [
    "FLAT_COLUMNS",
    "FORMATS",
    "SHIPPED",
    "CategorySpec",
    "TaxonomyError",
    "TaxonomyReport",
    "TimeLimitSpec",
    "categories_export",
    "categories_import",
    "categories_link_departments",
    "format_for_path",
    "read_categories",
]
