"""Viewsheds (可视域): what a camera sees once building footprints (gridmap.Building) are in
the way.

A camera's *sector* is the disc of radius ``range_m`` around it, cut to ``fov_deg`` either side
of ``heading_deg`` (degrees clockwise from north) — the full disc for a PTZ dome (球机). Its
*viewshed* is the sector minus what the footprints hide, in 2-D (heights are not used: a camera
6 m up does not see over a house):

1. *Shadows.* Every footprint edge that faces the camera casts a shadow: the quadrilateral from
   the edge away from the eye out past the range. The union of those shadows and the footprints
   themselves is everything hidden (a building's interior is never visible), and the viewshed
   is the sector minus that union. Edges are taken from every footprint the sector touches and
   turned into shadow polygons in one vectorised step (shapely 2); one ``union_all`` and one
   ``difference`` per camera. 600 cameras among 5,000 buildings take well under the 5 s of
   DESIGN §6 (bench/viewshed.py).
2. *Cameras on a wall.* Cameras are often mounted on a building, and their surveyed point lies on
   or inside the footprint. Such a camera sees out from the wall it faces: its eye is moved
   along the heading to where that line leaves the footprint, plus ``WALL_OFFSET_M``. From
   there its own building is an ordinary obstacle behind it (a dome on a wall does not see
   through the house), and the sector is drawn around the moved eye.

When a camera or a building changes its cameras are marked *stale* (``viewshed_computed_at``
NULL, in the same transaction as the edit, so the mark is as durable as the edit) and a Celery
task (``cameras.tasks.compute_stale_viewsheds``) is queued a few seconds after the commit: a
burst of edits costs one recomputation, and the queued copies find nothing left to do. A
building edit marks only the cameras whose range reaches the old or the new footprint.
``manage.py compute_viewsheds`` recomputes all of them (or a list of codes) by hand.

Bulk writes (an importer's upsert) bypass the signals. The same task, also run by Celery beat
every ``GRIDMAP_VIEWSHED_SWEEP_S`` seconds, first compares a digest of every camera's inputs
and every footprint with the digests it kept in Redis at its last run, and marks stale the
cameras that changed and those whose range reaches a changed, added or removed footprint
(``viewsheds_catch_up``); so imports are caught up within a minute. No table is needed: when
Redis has lost the digests the run only records them (edits through the ORM never need them).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis import RedisError
from shapely import STRtree
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from gridmap.models import STORAGE_SRID, Building

from .models import Camera

log = logging.getLogger(__name__)

#: Angle between two vertices of a sector's arc (degrees): at 150 m the chord lies at most
#: 150·(1 − cos 1°) ≈ 2 cm inside the true arc.
ARC_STEP_DEG = 2.0
#: How far in front of its wall a wall-mounted camera's eye is put (metres).
WALL_OFFSET_M = 0.05
#: A camera closer than this to a footprint is on its wall (metres; survey points on a wall line
#: land a few millimetres either side of it).
ON_WALL_M = 0.05
#: Pieces of a viewshed smaller than this are dropped (m²): slivers between touching shadows.
SLIVER_M2 = 0.01
#: Seconds a queued recomputation waits, so that a burst of edits costs one.
RECOMPUTE_DELAY_S = 2.0
#: Fields of a camera its viewshed depends on.
VIEWSHED_FIELDS = frozenset(
    {"geom", "heading_deg", "fov_deg", "focal_length_mm", "sensor_width_mm", "range_m", "ptz"}
)


# --- Geometry (pure: metres in a projected CRS, no database) ---------------------------------


@dataclass(frozen=True)
class View:
    """What a camera looks from: position (m), heading (° from north, clockwise), horizontal
    field of view (°, 360 = all round) and range (m)."""

    x: float
    y: float
    heading_deg: float
    fov_deg: float
    range_m: float

    @classmethod
    def of(cls, camera: Camera) -> View:
        return cls(
            camera.geom.x,
            camera.geom.y,
            camera.heading_deg,
            camera.effective_fov_deg,
            camera.range_m,
        )

    @property
    def direction(self) -> tuple[float, float]:
        """Unit vector of the heading (x east, y north)."""
        h = math.radians(self.heading_deg)
        return math.sin(h), math.cos(h)


def sector(x: float, y: float, heading_deg: float, fov_deg: float, range_m: float) -> Polygon:
    """The field-of-view sector around (x, y): a disc for ``fov_deg`` >= 360, else the eye and an
    arc from heading − fov/2 to heading + fov/2 (vertices every ``ARC_STEP_DEG`` at most)."""
    if fov_deg >= 360:
        n = math.ceil(360 / ARC_STEP_DEG)
        bearings = np.linspace(0, 2 * math.pi, n, endpoint=False)
    else:
        n = max(2, math.ceil(fov_deg / ARC_STEP_DEG) + 1)
        half = fov_deg / 2
        bearings = np.radians(np.linspace(heading_deg - half, heading_deg + half, n))
    arc = np.column_stack([x + range_m * np.sin(bearings), y + range_m * np.cos(bearings)])
    if fov_deg < 360:
        arc = np.vstack([[x, y], arc])
    return Polygon(arc)


class Obstacles:
    """Building footprints as shapely polygons with a spatial index and their edges, prepared
    once for many cameras. Exteriors counter-clockwise, holes clockwise, so that the outward
    normal of every edge a→b is (dy, −dx)."""

    def __init__(self, polygons: Iterable[BaseGeometry]) -> None:
        parts = shapely.get_parts(np.asarray(list(polygons), dtype=object))
        parts = parts[~shapely.is_empty(parts)] if len(parts) else parts
        self.polygons = shapely.orient_polygons(parts, exterior_cw=False) if len(parts) else parts
        self.tree = STRtree(self.polygons)
        rings, ring_polygon = shapely.get_rings(self.polygons, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same_ring = coord_ring[:-1] == coord_ring[1:]
        self.edge_a = coords[:-1][same_ring]
        self.edge_b = coords[1:][same_ring]
        edge_polygon = ring_polygon[coord_ring[:-1][same_ring]]
        # Edges are grouped by polygon: polygon i owns edges starts[i]:starts[i + 1].
        self.starts = np.searchsorted(edge_polygon, np.arange(len(self.polygons) + 1))

    def __len__(self) -> int:
        return len(self.polygons)

    def edges_of(self, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The edges (a, b) of the polygons at indices ``which``."""
        if len(which) == 0:
            return np.empty((0, 2)), np.empty((0, 2))
        lo, hi = self.starts[which], self.starts[which + 1]
        counts = hi - lo
        index = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        return self.edge_a[index], self.edge_b[index]


def eye_point(view: View, obstacles: Obstacles) -> tuple[float, float]:
    """Where the camera looks from: its own point, or — when that lies on or inside a footprint —
    just outside the wall it faces (along the heading, ``WALL_OFFSET_M`` past the last wall).
    Terraced blocks: the moved eye may land in the neighbouring footprint, so it moves again."""
    ex, ey = view.x, view.y
    dx, dy = view.direction
    for _ in range(8):
        eye = Point(ex, ey)
        hosts = obstacles.tree.query(eye, predicate="dwithin", distance=ON_WALL_M)
        if len(hosts) == 0:
            break
        exit_m = 0.0
        for host in obstacles.polygons[hosts]:
            xmin, ymin, xmax, ymax = host.bounds
            reach = math.hypot(xmax - xmin, ymax - ymin) + 2 * ON_WALL_M
            ray = shapely.LineString([(ex, ey), (ex + dx * reach, ey + dy * reach)])
            inside = host.buffer(ON_WALL_M, quad_segs=2).intersection(ray)
            for piece in shapely.get_parts(inside):
                if piece.geom_type != "LineString" or piece.length == 0:
                    continue
                if ray.project(Point(piece.coords[0])) <= ON_WALL_M * 2:
                    exit_m = max(exit_m, ray.project(Point(piece.coords[-1])))
        ex, ey = ex + dx * (exit_m + WALL_OFFSET_M), ey + dy * (exit_m + WALL_OFFSET_M)
    return ex, ey


def shadows(ex: float, ey: float, a: np.ndarray, b: np.ndarray, range_m: float) -> np.ndarray:
    """Shadow polygons of the edges a→b (arrays of shape (n, 2)) seen from (ex, ey): for each edge
    facing the eye, the polygon a, b, b′, m′, a′ where a′, b′ are a and b pushed away from the eye
    and m′ lies on the bisector, all at ``far`` from the eye. Three far points 90° apart at most
    keep the far side beyond ``far``·cos 45°; ``far`` is at least 1.5 × the range and twice the
    edge's own distance, so the shadow reaches past the sector and never folds over itself."""
    eye = np.array([ex, ey])
    da, db = a - eye, b - eye
    # Outward normal (dy, −dx) of the oriented edge; it faces the eye when the eye is in front.
    normal = np.column_stack([(b - a)[:, 1], -(b - a)[:, 0]])
    facing = np.einsum("ij,ij->i", -da, normal) > 1e-9
    da, db, a, b = da[facing], db[facing], a[facing], b[facing]
    la, lb = np.linalg.norm(da, axis=1), np.linalg.norm(db, axis=1)
    keep = (la > 1e-9) & (lb > 1e-9)
    da, db, a, b, la, lb = da[keep], db[keep], a[keep], b[keep], la[keep], lb[keep]
    ua, ub = da / la[:, None], db / lb[:, None]
    mid = ua + ub
    mid_len = np.linalg.norm(mid, axis=1)
    # An edge seen exactly edge-on from its own line (180°): its bisector is its normal.
    flat = mid_len < 1e-12
    mid[flat] = -normal[facing][keep][flat]
    mid /= np.linalg.norm(mid, axis=1)[:, None]
    far = np.maximum(1.5 * range_m, 2 * np.maximum(la, lb))[:, None]
    ring = np.stack([a, b, eye + ub * far, eye + mid * far, eye + ua * far, a], axis=1)
    return shapely.polygons(ring)


def viewshed(view: View, obstacles: Obstacles) -> tuple[MultiPolygon, tuple[float, float]]:
    """The viewshed of ``view`` among ``obstacles`` and the eye it was seen from (see the module
    docstring). Metres in the obstacles' CRS; an empty MultiPolygon when everything is hidden."""
    ex, ey = eye_point(view, obstacles)
    field = sector(ex, ey, view.heading_deg, view.fov_deg, view.range_m)
    near = obstacles.tree.query(field, predicate="intersects")
    if len(near):
        a, b = obstacles.edges_of(near)
        hidden = shapely.union_all(
            np.concatenate([shadows(ex, ey, a, b, view.range_m), obstacles.polygons[near]])
        )
        seen = field.difference(hidden)
    else:
        seen = field
    return _multipolygon(seen), (ex, ey)


def _multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Polygonal parts of ``geom`` above ``SLIVER_M2``, valid, as one MultiPolygon."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area >= SLIVER_M2]
    return MultiPolygon(parts)


# --- Database: compute and store ---------------------------------------------------------------


def obstacles_near(extent: tuple[float, float, float, float] | None = None) -> Obstacles:
    """Footprints (storage CRS) within ``extent`` (xmin, ymin, xmax, ymax), or all of them."""
    sql = "SELECT ST_AsBinary(geom) FROM gridmap_building"
    params: list = []
    if extent is not None:
        sql += f" WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, {STORAGE_SRID})"
        params = list(extent)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        wkb = [bytes(row[0]) for row in cursor.fetchall()]
    return Obstacles(shapely.from_wkb(wkb) if wkb else [])


def _extent(views: list[View]) -> tuple[float, float, float, float]:
    """Bounding box of the views' ranges, with room for eyes moved off their walls."""
    margin = 200.0
    return (
        min(v.x - v.range_m for v in views) - margin,
        min(v.y - v.range_m for v in views) - margin,
        max(v.x + v.range_m for v in views) + margin,
        max(v.y + v.range_m for v in views) + margin,
    )


@dataclass
class ViewshedRun:
    """What a computation did: cameras computed, buildings considered, seconds taken."""

    cameras: int
    buildings: int
    seconds: float
    #: Cameras that see nothing at all (inside a block of buildings, or a zero field of view).
    blind: int = 0


def viewsheds_compute(
    cameras: Iterable[Camera],
    *,
    progress: Callable[[int], None] | None = None,
    obstacles: Obstacles | None = None,
) -> ViewshedRun:
    """Compute and store the viewsheds of ``cameras`` (in the caller's transaction when there is
    one; one UPDATE for all). ``progress`` is called with the number done after each camera.
    Buildings are read once, around the cameras, unless ``obstacles`` are given."""
    t0 = time.perf_counter()
    cameras = list(cameras)
    if not cameras:
        return ViewshedRun(0, 0, 0.0)
    views = [View.of(c) for c in cameras]
    if obstacles is None:
        obstacles = obstacles_near(_extent(views))
    results = []
    for done, view in enumerate(views, 1):
        results.append(viewshed(view, obstacles)[0])
        if progress is not None:
            progress(done)
    _store(cameras, results)
    return ViewshedRun(
        cameras=len(cameras),
        buildings=len(obstacles),
        seconds=time.perf_counter() - t0,
        blind=sum(1 for r in results if r.is_empty),
    )


def _store(cameras: list[Camera], results: list[MultiPolygon]) -> None:
    """One UPDATE writing every viewshed and its time (ST_Multi keeps an empty result typed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE cameras_camera c
               SET viewshed_geom = ST_Multi(ST_GeomFromWKB(v.wkb, {STORAGE_SRID})),
                   viewshed_computed_at = %s
              FROM unnest(%s::bigint[], %s::bytea[]) AS v(id, wkb)
             WHERE c.id = v.id
            """,
            [timezone.now(), [c.pk for c in cameras], [r.wkb for r in results]],
        )


def viewsheds_compute_stale() -> ViewshedRun:
    """Recompute every stale camera (``viewshed_computed_at`` NULL) — what the queued task and
    the periodic sweep do, after ``viewsheds_catch_up`` has marked what bulk writes changed.

    The stale rows are locked for the run (``FOR UPDATE SKIP LOCKED``): an edit of one of them
    waits for this run and marks it stale again after, and a second run takes only the others."""
    viewsheds_catch_up()
    with transaction.atomic():
        stale = list(
            Camera.objects.filter(viewshed_computed_at__isnull=True)
            .select_for_update(skip_locked=True)
            .order_by("pk")
        )
        return viewsheds_compute(stale)


#: Per-row digests seen by the last catch-up (Redis): {id: (digest, xmin, ymin, xmax, ymax)}.
DIGEST_KEYS = {"building": "cameras:viewshed:buildings", "camera": "cameras:viewshed:cameras"}
_DIGEST_SQL = {
    "building": "SELECT id, md5(ST_AsBinary(geom)), ST_XMin(geom), ST_YMin(geom), ST_XMax(geom),"
    " ST_YMax(geom) FROM gridmap_building",
    "camera": "SELECT id, md5(concat_ws(':', ST_AsBinary(geom), heading_deg, fov_deg,"
    " focal_length_mm, sensor_width_mm, range_m, ptz)), ST_X(geom), ST_Y(geom), ST_X(geom),"
    " ST_Y(geom) FROM cameras_camera",
}


def _changed_rows(kind: str) -> list[tuple[float, float, float, float]]:
    """Boxes (old and new) of the rows of ``kind`` that changed since the last call, by their
    digests kept in the cache. The first call (or after Redis lost them) only records."""
    with connection.cursor() as cursor:
        cursor.execute(_DIGEST_SQL[kind])
        now = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
    before = cache.get(DIGEST_KEYS[kind])
    cache.set(DIGEST_KEYS[kind], now, None)
    if before is None:
        return []
    boxes = [row[1:] for key, row in now.items() if before.get(key) != row]
    boxes += [row[1:] for key, row in before.items() if now.get(key) != row]
    return boxes


def viewsheds_catch_up() -> int:
    """Mark stale what bulk writes changed behind the signals' back (an importer's upsert of
    cameras or buildings): cameras whose own inputs changed, and cameras whose range reaches a
    changed, added or removed footprint. Returns how many cameras it marked."""
    marked = 0
    with connection.cursor() as cursor:
        camera_boxes = _changed_rows("camera")
        building_boxes = _changed_rows("building")
        for boxes, reach in ((camera_boxes, "0"), (building_boxes, "c.range_m")):
            if not boxes:
                continue
            xmin, ymin, xmax, ymax = (list(v) for v in zip(*boxes, strict=True))
            cursor.execute(
                f"""
                UPDATE cameras_camera c SET viewshed_computed_at = NULL
                 WHERE c.viewshed_computed_at IS NOT NULL AND EXISTS (
                       SELECT FROM unnest(%s::float8[], %s::float8[], %s::float8[],
                                          %s::float8[]) AS b(x0, y0, x1, y1)
                        WHERE ST_DWithin(c.geom,
                                         ST_MakeEnvelope(b.x0, b.y0, b.x1, b.y1, {STORAGE_SRID}),
                                         {reach} + %s))
                """,
                [xmin, ymin, xmax, ymax, ON_WALL_M + WALL_OFFSET_M],
            )
            marked += cursor.rowcount
    return marked


def viewsheds_mark_stale(*, camera_ids: Iterable[int] = (), near_building: int | None = None):
    """Mark cameras stale in the current transaction: by id, and/or every camera whose range
    reaches the footprint of building ``near_building`` as the database has it now."""
    ids = list(camera_ids)
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "UPDATE cameras_camera SET viewshed_computed_at = NULL WHERE id = ANY(%s)", [ids]
            )
        if near_building is not None:
            _mark_near(cursor, "(SELECT geom FROM gridmap_building WHERE id = %s)", near_building)


def _mark_near(cursor, footprint_sql: str, param) -> None:
    # The && box (widest range in the table) lets the index find candidates; ST_DWithin with
    # each camera's own range decides.
    cursor.execute(
        f"""
        WITH f AS (SELECT {footprint_sql} AS geom),
             r AS (SELECT coalesce(max(range_m), 0) + %s AS widest FROM cameras_camera)
        UPDATE cameras_camera c SET viewshed_computed_at = NULL
          FROM f, r
         WHERE f.geom IS NOT NULL
           AND c.geom && ST_Expand(f.geom, r.widest)
           AND ST_DWithin(c.geom, f.geom, c.range_m + %s)
        """,
        [param, ON_WALL_M + WALL_OFFSET_M, ON_WALL_M + WALL_OFFSET_M],
    )


def viewsheds_queue() -> None:
    """Queue a recomputation of the stale cameras ``RECOMPUTE_DELAY_S`` after the current
    transaction commits (at once outside one)."""
    transaction.on_commit(_queue)


def _queue() -> None:
    from .tasks import compute_stale_viewsheds

    try:
        compute_stale_viewsheds.apply_async(countdown=RECOMPUTE_DELAY_S)
    except (OperationalError, RedisError, OSError) as exc:
        # The broker is down: the cameras stay marked stale in the database.
        log.warning(
            "viewshed recomputation not queued (%s); run `manage.py compute_viewsheds`, or the "
            "next edit or the catch-up sweep picks the stale cameras up",
            exc,
        )


# --- Signals: the admin's editors and any ORM save --------------------------------------------


def _camera_saved(sender, instance: Camera, created: bool, update_fields=None, **kwargs) -> None:
    # Heartbeats and status changes save with update_fields and leave the viewshed alone.
    if update_fields is not None and not (set(update_fields) & VIEWSHED_FIELDS):
        return
    viewsheds_mark_stale(camera_ids=[instance.pk])
    viewsheds_queue()


def _building_before_save(sender, instance: Building, raw: bool = False, **kwargs) -> None:
    if instance.pk is not None and not raw:
        viewsheds_mark_stale(near_building=instance.pk)


def _building_saved(sender, instance: Building, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    viewsheds_mark_stale(near_building=instance.pk)
    viewsheds_queue()


def _building_deleted(sender, instance: Building, **kwargs) -> None:
    with connection.cursor() as cursor:
        _mark_near(cursor, f"ST_GeomFromWKB(%s::bytea, {STORAGE_SRID})", bytes(instance.geom.wkb))
    viewsheds_queue()


def connect_signals() -> None:
    """A camera saved through the ORM (the admin) gets a new viewshed; a building saved or
    deleted makes the cameras that reach its old and new footprint stale. Bulk writes (the
    importers) send no signals: see the module docstring."""
    from django.db.models.signals import post_delete, post_save, pre_save

    post_save.connect(_camera_saved, sender=Camera, dispatch_uid="viewshed-camera-saved")
    pre_save.connect(
        _building_before_save, sender=Building, dispatch_uid="viewshed-building-before-save"
    )
    post_save.connect(_building_saved, sender=Building, dispatch_uid="viewshed-building-saved")
    post_delete.connect(
        _building_deleted, sender=Building, dispatch_uid="viewshed-building-deleted"
    )
