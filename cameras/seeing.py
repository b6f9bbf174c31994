"""Which cameras see a place (哪些摄像头能看到这里), and who may look at cameras at all.

A camera sees a point when its stored viewshed (the field-of-view sector minus what buildings hide,
cameras/viewshed.py) covers it. A camera whose viewshed has not been computed yet sees nothing
here: guessing from the bare sector would pull up cameras that look at a wall.

The answer is nearest first, with the distance from the camera to the point (metres, in the
metric storage CRS) and the bearing from the camera to the point (degrees clockwise from grid
north, the same north as ``heading_deg``), so that an operator can turn a PTZ dome (球机) at it.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.gis.db.models import PointField
from django.contrib.gis.geos import Point
from django.db.models import F, FloatField, Func, QuerySet, Value
from django.db.models.functions import Degrees

from gridmap.models import STORAGE_SRID, WGS84, Community, Subdistrict, User

from .models import Camera

#: Roles that may look at cameras: the centre's staff, and community leads (社区负责人) within
#: their community. A user with a subdistrict or community scope sees the cameras inside it.
CAMERA_ROLES = {
    User.Role.COMMANDER,
    User.Role.DISPATCHER,
    User.Role.OPERATOR,
    User.Role.SHIFT_LEADER,
    User.Role.COMMUNITY_LEAD,
    User.Role.ADMIN,
}


class KnnDistance(Func):
    """``geom <-> point``: the distance the GiST index can order by (a KNN scan).

    Django's ``Distance()`` ordering computes ``ST_Distance`` for every row and sorts; ``<->``
    walks the index nearest first. For points in the metric storage CRS it is the distance in
    metres."""

    arg_joiner = " <-> "
    template = "(%(expressions)s)"
    output_field = FloatField()


class Azimuth(Func):
    """``ST_Azimuth(a, b)``: the angle from north to the direction a → b, in radians."""

    function = "ST_Azimuth"
    output_field = FloatField()


def may_see_cameras(user) -> bool:
    """True for the roles that may look at cameras (``CAMERA_ROLES``)."""
    return bool(user and user.is_authenticated and user.role in CAMERA_ROLES)


def cameras_visible_to(user) -> QuerySet[Camera]:
    """The cameras ``user`` may look at: none for other roles; a community lead only the cameras
    standing in their community (none without one); a scoped account only its area's."""
    cameras = Camera.objects.all()
    if not may_see_cameras(user):
        return cameras.none()
    if user.community_id:
        area = Community.objects.filter(pk=user.community_id).values("geom")
        return cameras.filter(geom__coveredby=area)
    if user.role == User.Role.COMMUNITY_LEAD:
        return cameras.none()
    if user.subdistrict_id:
        area = Subdistrict.objects.filter(pk=user.subdistrict_id).values("geom")
        return cameras.filter(geom__coveredby=area)
    return cameras


def is_hls(url: str) -> bool:
    """True when a stream address is HLS (an ``.m3u8`` playlist), which a browser can play."""
    path = urlsplit(url.strip()).path
    return path.lower().endswith(".m3u8")


@dataclass(frozen=True)
class Sight:
    """A camera that sees a place: how far away and in which direction."""

    camera: Camera
    distance_m: float
    bearing_deg: float


def storage_point(lon: float, lat: float) -> Point:
    """A WGS-84 lon/lat as a point in the storage CRS."""
    point = Point(lon, lat, srid=WGS84)
    point.transform(STORAGE_SRID)
    return point


def _point_value(point: Point) -> Value:
    if point.srid != STORAGE_SRID:
        point = point.transform(STORAGE_SRID, clone=True)
    return Value(point, output_field=PointField(srid=STORAGE_SRID))


def _with_distance(cameras: QuerySet[Camera], point: Point) -> QuerySet[Camera]:
    here = _point_value(point)
    return cameras.annotate(
        distance_m=KnnDistance(F("geom"), here),
        bearing_deg=Degrees(Azimuth(F("geom"), here)),
    )


def _sight(camera: Camera) -> Sight:
    # ST_Azimuth is NULL when the camera stands exactly on the point: call that north.
    bearing = camera.bearing_deg if camera.bearing_deg is not None else 0.0
    return Sight(camera, round(camera.distance_m, 1), round(bearing % 360.0, 1))


def cameras_seeing(*, point: Point, user, limit: int | None = None) -> list[Sight]:
    """The cameras ``user`` may look at whose viewshed covers ``point`` (any SRID), nearest first.

    ``ST_Covers`` so that a point on a viewshed's edge counts as seen; the GiST index on
    ``viewshed_geom`` finds the candidates, and the few that remain are sorted by distance."""
    if point.srid != STORAGE_SRID:
        point = point.transform(STORAGE_SRID, clone=True)
    cameras = (
        _with_distance(cameras_visible_to(user), point)
        .filter(viewshed_geom__covers=point)
        .order_by("distance_m", "code")
    )
    if limit is not None:
        cameras = cameras[:limit]
    return [_sight(c) for c in cameras]


def cameras_nearest(
    *, point: Point, user, limit: int, exclude: set[int] = frozenset(), online: bool | None = None
) -> list[Sight]:
    """The ``limit`` cameras nearest to ``point`` (KNN on the camera index), seeing it or not;
    only online ones (``online=True``), only the others (``False``), or all (``None``)."""
    cameras = cameras_visible_to(user).exclude(pk__in=exclude)
    if online is True:
        cameras = cameras.filter(status=Camera.Status.ONLINE)
    elif online is False:
        cameras = cameras.exclude(status=Camera.Status.ONLINE)
    cameras = _with_distance(cameras, point).order_by("distance_m", "code")[:limit]
    return [_sight(c) for c in cameras]


def camera_json(camera: Camera) -> dict:
    """What a client needs to show a camera: identity, state and how to watch it."""
    return {
        "code": camera.code,
        "name": camera.name,
        "status": camera.status,
        "ptz": camera.ptz,
        "heading_deg": camera.heading_deg,
        "fov_deg": round(camera.effective_fov_deg, 1),
        "range_m": camera.range_m,
        "stream_url": camera.stream_url,
        "hls": is_hls(camera.stream_url),
        "snapshot_url": camera.snapshot_url,
    }


def sight_json(sight: Sight) -> dict:
    """A camera that sees a place, with its distance (m) and bearing (°) to it, and its position
    in WGS-84."""
    position = sight.camera.geom.transform(WGS84, clone=True)
    return {
        **camera_json(sight.camera),
        "lon": round(position.x, 7),
        "lat": round(position.y, 7),
        "distance_m": sight.distance_m,
        "bearing_deg": sight.bearing_deg,
    }


def cameras_seeing_case_json(case, user) -> list[dict] | None:
    """The cameras that see a case's location, for its detail; None when ``user``'s role may
    not look at cameras (so that "none" never stands for "not shown to you")."""
    if not may_see_cameras(user):
        return None
    return [sight_json(s) for s in cameras_seeing(point=case.geom, user=user)]
