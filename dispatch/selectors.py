"""Reads of dispatch: the teams that may answer for a case, the network's state.

Recommendations are read on every click in the console and at every automatic dispatch, so the
team query is one prepared statement on a server-side-binding cursor (as the geocoder's):
the jurisdiction zones covering the case are found once through their GiST index, then each
candidate team is checked against that short list.
"""

from dataclasses import dataclass
from datetime import datetime, time

from gridmap.models import STORAGE_SRID, ShiftPlan
from gridmap.selectors.geocode import _server_side_cursor

_POOL_SQL = f"""
WITH covering AS MATERIALIZED (
    SELECT id FROM gridmap_responsibilityzone
     WHERE kind = 'jurisdiction'
       AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), {STORAGE_SRID}))
)
SELECT t.id, t.code, t.name, t.status,
       ST_X(t.position_geom), ST_Y(t.position_geom), t.position_at,
       ST_X(t.base_geom), ST_Y(t.base_geom),
       EXISTS (SELECT FROM gridmap_team_jurisdictions j
                WHERE j.team_id = t.id AND j.responsibilityzone_id IN (SELECT id FROM covering))
  FROM gridmap_team t
 WHERE CASE WHEN %(team_ids)s::bigint[] IS NULL THEN t.department_id = %(department)s
            ELSE t.id = ANY(%(team_ids)s::bigint[]) END
"""

_QUEUE_SQL = """
SELECT team_id, count(*) FROM cases_case
 WHERE stage IN ('dispatched', 'on_scene') AND team_id = ANY(%(teams)s::bigint[])
 GROUP BY team_id
"""

_STATE_SQL = """
SELECT built_version, built_at, roads_version FROM dispatch_networkstate WHERE id = 1
"""


@dataclass
class PoolTeam:
    """A team of the responsible department (or named by a responsibility rule), as read."""

    id: int
    code: str
    name: str
    status: str
    position: tuple[float, float] | None
    position_at: datetime | None
    base: tuple[float, float] | None
    covers: bool
    shifts: list[tuple[int, time, time]]


def team_pool(
    *, x: float, y: float, department_id: int | None, team_ids: frozenset[int] | None
) -> list[PoolTeam]:
    """The teams that answer for a case at (x, y) (storage CRS): those of ``department_id``,
    or exactly ``team_ids`` when a responsibility rule names them; each with its position, base,
    whether one of its jurisdiction zones covers the point, and its shift plan."""
    if department_id is None and not team_ids:
        return []
    cursor = _server_side_cursor()
    params = {
        "x": x,
        "y": y,
        "department": department_id,
        "team_ids": sorted(team_ids) if team_ids else None,
    }
    rows = cursor.execute(_POOL_SQL, params, prepare=True).fetchall()
    shifts: dict[int, list] = {}
    if rows:
        plans = ShiftPlan.objects.filter(team_id__in=[r[0] for r in rows]).values_list(
            "team_id", "weekday", "start", "end"
        )
        for team_id, weekday, start, end in plans:
            shifts.setdefault(team_id, []).append((weekday, start, end))
    return [
        PoolTeam(
            id=r[0],
            code=r[1],
            name=r[2],
            status=r[3],
            position=None if r[4] is None else (r[4], r[5]),
            position_at=r[6],
            base=None if r[7] is None else (r[7], r[8]),
            covers=r[9],
            shifts=shifts.get(r[0], []),
        )
        for r in rows
    ]


def team_queues(team_ids: list[int]) -> dict[int, int]:
    """Open tasks (dispatched or on scene) per team."""
    if not team_ids:
        return {}
    cursor = _server_side_cursor()
    return dict(cursor.execute(_QUEUE_SQL, {"teams": team_ids}, prepare=True).fetchall())


def network_version() -> tuple[tuple, bool]:
    """The network's build (version and time: the key of the in-process copy) and whether it
    is current with the roads."""
    row = _server_side_cursor().execute(_STATE_SQL, prepare=True).fetchone()
    if row is None:
        return (-1, None), False
    built_version, built_at, roads_version = row
    return (built_version, built_at), built_version >= roads_version
