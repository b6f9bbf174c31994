"""Reads of dispatch: the teams that may answer for a case, the network's state.

Recommendations are read on every click in the console and at every automatic dispatch, so the
team query is one prepared statement on a server-side-binding cursor (as the geocoder's):
the jurisdiction zones covering the case are found once through their GiST index, then each
candidate team is checked against that short list; its shift plan, its queue (busy teams only)
and the network's state come in the same round trip. Times come back as seconds since the
epoch: converting 200 timestamps cost more than the query.
"""

from dataclasses import dataclass
from datetime import time

import numpy as np

from gridmap.models import STORAGE_SRID
from gridmap.selectors.geocode import _server_side_cursor

_POOL_SQL = f"""
WITH covering AS MATERIALIZED (
    SELECT id FROM gridmap_responsibilityzone
     WHERE kind = 'jurisdiction'
       AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), {STORAGE_SRID}))
), state AS MATERIALIZED (
    SELECT built_version, built_at, roads_version FROM dispatch_networkstate WHERE id = 1
)
SELECT t.id, t.code, t.name, t.status,
       ST_X(t.position_geom), ST_Y(t.position_geom), extract(epoch FROM t.position_at)::float8,
       ST_X(t.base_geom), ST_Y(t.base_geom),
       t.id IN (SELECT j.team_id FROM gridmap_team_jurisdictions j
                  JOIN covering z ON z.id = j.responsibilityzone_id),
       sp.weekdays, sp.starts, sp.ends,
       CASE WHEN t.status IN ('responding', 'on_scene')
            THEN (SELECT count(*) FROM cases_case c
                   WHERE c.team_id = t.id AND c.stage IN ('dispatched', 'on_scene'))
            ELSE 0 END,
       ns.built_version, extract(epoch FROM ns.built_at)::float8, ns.roads_version
  FROM gridmap_team t
  LEFT JOIN (SELECT team_id, array_agg(weekday) AS weekdays, array_agg(start) AS starts,
                    array_agg("end") AS ends
               FROM gridmap_shiftplan GROUP BY team_id) sp ON sp.team_id = t.id
  LEFT JOIN state ns ON true
 WHERE CASE WHEN %(team_ids)s::bigint[] IS NULL THEN t.department_id = %(department)s
            ELSE t.id = ANY(%(team_ids)s::bigint[]) END
"""

_STATE_SQL = """
SELECT built_version, extract(epoch FROM built_at)::float8, roads_version
  FROM dispatch_networkstate WHERE id = 1
"""


@dataclass
class Pool:
    """The teams of the responsible department (or named by a responsibility rule), as read:
    one entry per team in each column (numpy arrays, NaN where a value is missing), because a
    recommendation handles 200 of them at once and objects per team cost more than the search.
    """

    ids: list[int]
    codes: list[str]
    names: list[str]
    statuses: list[str]
    #: Latest fix (storage CRS) and its time in seconds since the epoch.
    position_x: np.ndarray
    position_y: np.ndarray
    position_at: np.ndarray
    #: Where the team is stationed (storage CRS).
    base_x: np.ndarray
    base_y: np.ndarray
    #: Whether one of its jurisdiction zones covers the case.
    covers: np.ndarray
    #: Open tasks (dispatched or on scene), counted for busy teams only.
    queue: np.ndarray
    #: Shift plans by position in the columns, for the teams that have one.
    shifts: dict[int, list[tuple[int, time, time]]]

    def __len__(self) -> int:
        return len(self.ids)


def _floats(values) -> np.ndarray:
    return np.array(values, dtype=float)  # None becomes NaN


def team_pool(
    *, x: float, y: float, department_id: int | None, team_ids: frozenset[int] | None
) -> tuple[Pool | None, tuple[tuple, bool] | None]:
    """The teams that answer for a case at (x, y) (storage CRS): those of ``department_id``,
    or exactly ``team_ids`` when a responsibility rule names them; each with its position, base,
    whether one of its jurisdiction zones covers the point, its shift plan and its queue. Also
    the network's state as ``network_version`` gives it, read in the same statement. (None,
    None) without teams."""
    if department_id is None and not team_ids:
        return None, None
    cursor = _server_side_cursor()
    params = {
        "x": x,
        "y": y,
        "department": department_id,
        "team_ids": sorted(team_ids) if team_ids else None,
    }
    rows = cursor.execute(_POOL_SQL, params, prepare=True, binary=True).fetchall()
    if not rows:
        return None, None
    c = list(zip(*rows, strict=True))
    pool = Pool(
        ids=list(c[0]),
        codes=list(c[1]),
        names=list(c[2]),
        statuses=list(c[3]),
        position_x=_floats(c[4]),
        position_y=_floats(c[5]),
        position_at=_floats(c[6]),
        base_x=_floats(c[7]),
        base_y=_floats(c[8]),
        covers=np.array(c[9], dtype=bool),
        queue=np.array(c[13], dtype=np.int64),
        shifts={
            i: list(zip(r[10], r[11], r[12], strict=True)) for i, r in enumerate(rows) if r[10]
        },
    )
    built_version, built_at, roads_version = rows[0][14:17]
    if built_version is None:
        return pool, ((-1, None), False)
    return pool, ((built_version, built_at), built_version >= roads_version)


def network_version() -> tuple[tuple, bool]:
    """The network's build (version and time: the key of the in-process copy) and whether it
    is current with the roads."""
    row = _server_side_cursor().execute(_STATE_SQL, prepare=True).fetchone()
    if row is None:
        return (-1, None), False
    built_version, built_at, roads_version = row
    return (built_version, built_at), built_version >= roads_version
