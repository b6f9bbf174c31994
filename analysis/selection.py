"""Which cases an analysis is about: the filters every analysis takes, checked once, and the
cases' points read fast.

The same filters (time range, category, source, community, stage) drive the heatmap, the
hotspots and the exports, from the API and from the management commands alike. They are parsed
from plain strings (a query string or command-line options) into a ``CaseSelection``; every
problem is an ``AnalysisInputError`` naming the parameter, so that the API answers 400 and a
command exits non-zero with the same words. Who asks narrows the cases to what they may see
(``cases.selectors.cases_visible_to``): a community lead analyses their community only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np
from django.contrib.gis.db.models import Extent
from django.db import connection
from django.db.models import FloatField, Func, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, Category
from cases.selectors import cases_visible_to
from gridmap.models import Community, District, User

#: Roles that may run analyses (heatmaps, hotspots, exports). A community lead only within
#: their community (their cases are already narrowed by ``cases_visible_to``).
ANALYSIS_ROLES = {
    User.Role.PLANNER,
    User.Role.EVALUATOR,
    User.Role.COMMANDER,
    User.Role.OFFICE_HEAD,
    User.Role.ADMIN,
    User.Role.COMMUNITY_LEAD,
}
#: The filter parameters, as the API and the commands name them.
FILTERS = ("reported_after", "reported_before", "category", "source", "community", "stage")


class AnalysisInputError(ValueError):
    """Bad input to an analysis; ``field`` names the parameter, the message says what would do.
    The API answers 400, a command exits with status 1."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AnalysisNotFound(LookupError):
    """Something outside the user's area was asked for (404, as if it did not exist)."""


class AnalysisForbidden(PermissionError):
    """The role may not run analyses (403)."""


@dataclass(frozen=True)
class CaseSelection:
    """Checked filters. Times are aware; ``reported_before`` is exclusive. Empty tuples mean
    "any". ``community_ids`` are the communities' ids (the codes were checked)."""

    reported_after: datetime | None = None
    reported_before: datetime | None = None
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    community_codes: tuple[str, ...] = ()
    community_ids: tuple[int, ...] = ()
    stages: tuple[str, ...] = ()
    #: The user's own community when their scope is one (a community lead), else None.
    scope_community_id: int | None = None
    user_id: int | None = field(default=None, compare=False)

    def describe(self) -> dict:
        """The filters as plain values (for a job's record, a file's metadata)."""
        return {
            "reported_after": self.reported_after.isoformat() if self.reported_after else None,
            "reported_before": self.reported_before.isoformat() if self.reported_before else None,
            "category": list(self.categories),
            "source": list(self.sources),
            "community": list(self.community_codes),
            "stage": list(self.stages),
        }


def analysis_user_check(user) -> None:
    """Raise ``AnalysisForbidden`` unless ``user`` may run analyses (role and scope)."""
    if user is None:
        return
    if user.role not in ANALYSIS_ROLES:
        raise AnalysisForbidden(
            _("A %(role)s may not run analyses (planners, evaluators, commanders may).")
            % {"role": user.get_role_display()}
        )
    if user.role == User.Role.COMMUNITY_LEAD and not user.community_id:
        raise AnalysisForbidden(_("This community lead's account has no community."))


def _values(params: Mapping, name: str) -> list[str]:
    """All values of a parameter: repeated (``?stage=a&stage=b``) or comma-separated."""
    if hasattr(params, "getlist"):
        raw = params.getlist(name)
    else:
        raw = params.get(name)
        raw = [] if raw is None else (list(raw) if isinstance(raw, list | tuple) else [raw])
    out: list[str] = []
    for value in raw:
        out += [v.strip() for v in str(value).split(",") if v.strip()]
    return out


def _single(params: Mapping, name: str) -> str | None:
    values = _values(params, name)
    if len(values) > 1:
        raise AnalysisInputError(name, _("give one value, not %(n)d") % {"n": len(values)})
    return values[0] if values else None


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or date-time; a date means its local midnight, a naive time is local."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), time())
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AnalysisInputError(
            name,
            _("%(value)r is not an ISO 8601 date or time (e.g. 2026-03-01)") % {"value": value},
        ) from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _choices(values: list[str], name: str, known) -> tuple[str, ...]:
    unknown = [v for v in values if v not in known]
    if unknown:
        raise AnalysisInputError(
            name,
            _("unknown value(s) %(values)s; known: %(known)s")
            % {"values": ", ".join(unknown), "known": ", ".join(sorted(known))},
        )
    return tuple(dict.fromkeys(values))


def selection_parse(params: Mapping, *, user=None, allowed: tuple[str, ...] = ()) -> CaseSelection:
    """Check the filters in ``params`` (a QueryDict or a dict of strings / lists).

    ``allowed`` names the other parameters the caller reads itself; anything else is an
    unknown parameter (a typo must not silently widen an analysis). Raises
    ``AnalysisInputError`` (400), ``AnalysisNotFound`` for a community outside the user's area
    (404) and ``AnalysisForbidden`` for a role that may not analyse (403).
    """
    analysis_user_check(user)
    unknown = [k for k in params if k not in FILTERS and k not in allowed]
    if unknown:
        raise AnalysisInputError(
            unknown[0],
            _("unknown parameter; known: %(known)s") % {"known": ", ".join((*FILTERS, *allowed))},
        )
    after = parse_time(_single(params, "reported_after"), "reported_after")
    before = parse_time(_single(params, "reported_before"), "reported_before")
    if after and before and before <= after:
        raise AnalysisInputError(
            "reported_before",
            _(
                "the period is empty: reported_before (%(before)s) must come after "
                "reported_after (%(after)s)"
            )
            % {"before": before.isoformat(), "after": after.isoformat()},
        )
    categories = _values(params, "category")
    if categories:
        # A code (E0401) or, where it is unique, the subclass's name (占道经营).
        codes = dict(Category.objects.filter(code__in=categories).values_list("code", "code"))
        named = Category.objects.filter(minor_name__in=categories).values_list("minor_name", "code")
        for name, code in named:
            codes.setdefault(name, code)
        missing = [c for c in categories if c not in codes]
        if missing:
            raise AnalysisInputError(
                "category",
                _("unknown category code(s): %(codes)s") % {"codes": ", ".join(missing)},
            )
        categories = list(dict.fromkeys(codes[c] for c in categories))
    sources = _choices(_values(params, "source"), "source", set(Case.Source.values))
    stages = _choices(_values(params, "stage"), "stage", set(Case.Stage.values))
    codes = list(dict.fromkeys(_values(params, "community")))
    scope = user.community_id if user is not None and user.community_id else None
    ids: list[int] = []
    if codes:
        found = dict(Community.objects.filter(code__in=codes).values_list("code", "id"))
        missing = [c for c in codes if c not in found]
        if missing:
            raise AnalysisInputError(
                "community",
                _("unknown community code(s): %(codes)s") % {"codes": ", ".join(missing)},
            )
        if scope is not None and any(found[c] != scope for c in codes):
            raise AnalysisNotFound(_("No such community in your area."))
        ids = [found[c] for c in codes]
    return CaseSelection(
        reported_after=after,
        reported_before=before,
        categories=tuple(categories),
        sources=sources,
        community_codes=tuple(codes),
        community_ids=tuple(ids),
        stages=stages,
        scope_community_id=scope,
        user_id=user.pk if user is not None else None,
    )


def selection_cases(selection: CaseSelection, *, user=None) -> QuerySet[Case]:
    """The cases of ``selection`` that ``user`` may see (all of them for a command: None)."""
    cases = cases_visible_to(user) if user is not None else Case.objects.all()
    if selection.reported_after:
        cases = cases.filter(reported_at__gte=selection.reported_after)
    if selection.reported_before:
        cases = cases.filter(reported_at__lt=selection.reported_before)
    if selection.categories:
        cases = cases.filter(category__code__in=selection.categories)
    if selection.sources:
        cases = cases.filter(source__in=selection.sources)
    if selection.community_ids:
        cases = cases.filter(community_id__in=selection.community_ids)
    if selection.stages:
        cases = cases.filter(stage__in=selection.stages)
    return cases


def selection_extent(selection: CaseSelection) -> tuple[float, float, float, float]:
    """The area the analysis covers, in the storage CRS (minx, miny, maxx, maxy): the chosen
    communities, else the user's community, else the district(s)."""
    ids = selection.community_ids or (
        (selection.scope_community_id,) if selection.scope_community_id else ()
    )
    if ids:
        extent = Community.objects.filter(pk__in=ids).aggregate(e=Extent("geom"))["e"]
    else:
        extent = District.objects.aggregate(e=Extent("geom"))["e"]
    if extent is None:
        raise AnalysisInputError(
            "community", _("there is no district to analyse: import_district first")
        )
    return tuple(float(v) for v in extent)


class _XY(Func):
    output_field = FloatField()


_COPY_HEADER = 19  # PGCOPY signature (11), flags (4), header extension length (4)


def _copy_floats(query: QuerySet, names: list[str]) -> list[np.ndarray]:
    """The float8 columns ``names`` of ``query`` through a binary ``COPY … TO STDOUT``, parsed
    by numpy (no Python object per row)."""
    row = np.dtype(
        [("n", ">i2")] + [f for name in names for f in ((f"l_{name}", ">i4"), (name, ">f8"))]
    )
    sql, params = query.values_list(*names).query.sql_with_params()
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy,
    ):
        data = b"".join(bytes(chunk) for chunk in copy)
    count = (len(data) - _COPY_HEADER - 2) // row.itemsize
    rows = np.frombuffer(data, dtype=row, offset=_COPY_HEADER, count=count)
    return [rows[name].astype(np.float64) for name in names]


def cases_points(cases: QuerySet[Case]) -> tuple[np.ndarray, np.ndarray]:
    """x and y (storage CRS, metres) of every case in ``cases``, as float64 arrays.

    Read with a binary ``COPY (SELECT ST_X, ST_Y …) TO STDOUT``: a million points arrive in
    under a second, several times faster than fetching rows through a cursor.
    """
    query = cases.order_by().annotate(
        _x=_XY("geom", function="ST_X"), _y=_XY("geom", function="ST_Y")
    )
    x, y = _copy_floats(query, ["_x", "_y"])
    return x, y


def cases_points_times(cases: QuerySet[Case]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y (storage CRS) and the report time (Unix seconds) of every case in ``cases``."""
    query = cases.order_by().annotate(
        _x=_XY("geom", function="ST_X"),
        _y=_XY("geom", function="ST_Y"),
        # Not Django's Extract: it would take the epoch of the local wall-clock time.
        _t=_XY("reported_at", template="extract(epoch FROM %(expressions)s)::float8"),
    )
    x, y, t = _copy_floats(query, ["_x", "_y", "_t"])
    return x, y, t
