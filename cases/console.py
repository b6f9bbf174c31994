"""What the commander console (指挥台) shows: open cases with their most urgent clock, in a form
that a map of 10,000 cases draws fast.

Every open case carries the instants its most urgent running clock turns yellow (80 % of the
limit used) and red (its deadline), so the page colours and counts down by itself and needs no
message when a colour changes. Wall-clock limits turn yellow exactly there; working-time limits
through the working calendar (cases/calendar.py), as their deadlines do.

A map view holding more than ``CLUSTER_ABOVE`` cases gets them aggregated on the server into
cells (count and worst colour), so a zoomed-out district stays light to draw.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Polygon
from django.db import connection
from django.utils import timezone

from gridmap.models import STORAGE_SRID

from . import workflow
from .calendar import limit_seconds, working_calendar
from .clocks import GREEN_UPTO
from .models import Case, Clock
from .selectors import cases_visible_to

#: More cases than this in a map view → cells instead of points.
CLUSTER_ABOVE = 3000
#: Cells across the view when aggregating.
CLUSTER_CELLS = 40
#: The queue's length.
QUEUE_LENGTH = 200

OPEN = sorted(workflow.OPEN_STAGES)


@dataclass
class Urgency:
    kind: str
    yellow_at: datetime
    due_at: datetime
    paused: bool

    def colour(self, now: datetime) -> str:
        if now >= self.due_at:
            return "red"
        return "yellow" if now >= self.yellow_at else "green"


def _yellow_at(started_at, limit_value, limit_unit, extended_s, paused_s) -> datetime:
    total = limit_seconds(limit_value, limit_unit) + extended_s
    spent = GREEN_UPTO * total + paused_s
    if limit_unit == "minutes":
        return started_at + timezone.timedelta(seconds=spent)
    return working_calendar().add(started_at, spent)


def urgencies(case_ids) -> dict[int, Urgency]:
    """The most urgent running clock of each case (the earliest deadline; paused clocks only
    when nothing else runs)."""
    found: dict[int, Urgency] = {}
    rows = Clock.objects.filter(case_id__in=case_ids, outcome=Clock.Outcome.OPEN).values_list(
        "case_id",
        "kind",
        "started_at",
        "due_at",
        "limit_value",
        "limit_unit",
        "extended_s",
        "paused_at",
        "paused_s",
    )
    for case_id, kind, started, due, value, unit, extended, paused_at, paused_s in rows:
        candidate = Urgency(
            kind, _yellow_at(started, value, unit, extended, paused_s), due, paused_at is not None
        )
        current = found.get(case_id)
        if (
            current is None
            or (current.paused and not candidate.paused)
            or (current.paused == candidate.paused and candidate.due_at < current.due_at)
        ):
            found[case_id] = candidate
    return found


def _ms(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() * 1000)


def _rows(queryset) -> list[tuple]:
    """(id, lon, lat, stage, number, category name, urgent) of the open cases, in WGS-84."""
    sql, params = queryset.filter(stage__in=OPEN).values_list("id", "geom").query.sql_with_params()
    # One statement: the cases of the queryset, with coordinates and category names joined in.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, ST_X(p), ST_Y(p), c.stage, c.number, k.minor_name, c.urgent "
            "FROM cases_case c JOIN cases_category k ON k.id = c.category_id, "
            "LATERAL ST_Transform(c.geom, 4326) p "
            f"WHERE c.id IN (SELECT id FROM ({sql}) q)",
            params,
        )
        return cursor.fetchall()


def console_cases(user, *, bbox: tuple[float, float, float, float] | None = None) -> dict:
    """The open cases the user may see (within ``bbox``, WGS-84), each as a compact row:
    ``[id, lon, lat, stage, number, category, urgent, clock kind, yellow ms, red ms, paused]``;
    or, above ``CLUSTER_ABOVE``, ``clusters``: ``[lon, lat, count, worst colour]``."""
    cases = cases_visible_to(user)
    if bbox is not None:
        box = Polygon.from_bbox(bbox)
        box.srid = 4326
        cases = cases.filter(geom__intersects=box.transform(STORAGE_SRID, clone=True))
    rows = _rows(cases)
    now = timezone.now()
    clocks = urgencies([row[0] for row in rows])
    if len(rows) > CLUSTER_ABOVE and bbox is not None:
        return {"total": len(rows), "clusters": _clusters(rows, clocks, bbox, now), "cases": []}
    return {"total": len(rows), "clusters": [], "cases": [_compact(r, clocks) for r in rows]}


def _compact(row, clocks) -> list:
    urgency = clocks.get(row[0])
    tail = (
        [urgency.kind, _ms(urgency.yellow_at), _ms(urgency.due_at), urgency.paused]
        if urgency
        else [None, None, None, False]
    )
    return [row[0], round(row[1], 6), round(row[2], 6), *row[3:7], *tail]


RANK = {"green": 0, "yellow": 1, "red": 2}


def _clusters(rows, clocks, bbox, now) -> list[list]:
    west, south, east, north = bbox
    size = max(east - west, north - south) / CLUSTER_CELLS
    cells: dict[tuple[int, int], list] = {}
    for row in rows:
        key = (int((row[1] - west) // size), int((row[2] - south) // size))
        cell = cells.setdefault(key, [0.0, 0.0, 0, "green"])
        cell[0] += row[1]
        cell[1] += row[2]
        cell[2] += 1
        urgency = clocks.get(row[0])
        colour = urgency.colour(now) if urgency else "green"
        if RANK[colour] > RANK[cell[3]]:
            cell[3] = colour
    return [
        [round(lon / n, 6), round(lat / n, 6), n, colour] for lon, lat, n, colour in cells.values()
    ]


def console_queue(user, *, limit: int = QUEUE_LENGTH) -> list[dict]:
    """The open cases with the nearest deadlines first (the dispatch queue), then those without
    a running clock (verified and waiting to be closed, or suspended)."""
    cases = cases_visible_to(user).filter(stage__in=OPEN)
    running = (
        Clock.objects.filter(case__in=cases, outcome=Clock.Outcome.OPEN, paused_at__isnull=True)
        .order_by("due_at")
        .values_list("case_id", flat=True)
    )
    ids: list[int] = []
    for case_id in running.iterator(chunk_size=2000):
        if case_id not in ids:
            ids.append(case_id)
            if len(ids) >= limit:
                break
    if len(ids) < limit:  # then the open cases no clock drives (e.g. verified, to be closed)
        resting = cases.exclude(pk__in=ids).order_by("reported_at", "id")
        ids += list(resting.values_list("pk", flat=True)[: limit - len(ids)])
    by_id = {
        c.pk: c
        for c in Case.objects.filter(pk__in=ids).select_related("category", "community", "team")
    }
    clocks = urgencies(ids)
    queue = []
    for case_id in ids:
        case, urgency = by_id[case_id], clocks.get(case_id)
        queue.append(
            {
                "id": case.pk,
                "number": case.number,
                "category": case.category.minor_name,
                "stage": case.stage,
                "stage_label": case.get_stage_display(),
                "community": case.community.name if case.community_id else "",
                "team": case.team.name if case.team_id else "",
                "urgent": case.urgent,
                "clock": urgency.kind if urgency else None,
                "yellow_at": _ms(urgency.yellow_at) if urgency else None,
                "due_at": _ms(urgency.due_at) if urgency else None,
            }
        )
    return queue
