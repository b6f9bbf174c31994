"""Thin API views: the cameras on a map, the cameras that see a place, and the video walls.

Status codes as everywhere (DESIGN §5): 403 a role that may not look at cameras or run walls,
404 an unknown wall, camera or case (or one outside the user's area), 400 malformed input, 422 a
point outside the district.
"""

import json

from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.contrib.gis.geos import Point, Polygon
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.selectors import cases_visible_to
from cases.serializers import LocationInput
from gridmap.api_errors import Unprocessable
from gridmap.crs import to_wgs84
from gridmap.models import STORAGE_SRID, WGS84
from gridmap.selectors import geocode_point
from layers.api import BboxField

from .models import VideoWall
from .seeing import (
    camera_json,
    cameras_seeing,
    cameras_visible_to,
    may_see_cameras,
    sight_json,
)
from .walls import (
    WallError,
    camera_for_wall,
    may_run_walls,
    wall_assign,
    wall_clear,
    wall_focus,
    wall_json,
    wall_preset_apply,
    wall_preset_save,
)


class MaySeeCameras(BasePermission):
    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False  # 401: log in first
        if not may_see_cameras(request.user):
            raise PermissionDenied(
                _("Your role (%(role)s) may not look at cameras.")
                % {"role": request.user.get_role_display()}
            )
        return True


class MayRunWalls(BasePermission):
    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False  # 401: log in first
        if not may_run_walls(request.user):
            raise PermissionDenied(
                _("Your role (%(role)s) may not use the video walls.")
                % {"role": request.user.get_role_display()}
            )
        return True


# --- Cameras ----------------------------------------------------------------------------------


class CameraListQuery(serializers.Serializer):
    bbox = BboxField(required=False)
    status = serializers.ChoiceField(
        choices=["online", "offline", "fault", "unknown"], required=False
    )


class CameraListView(APIView):
    """The cameras the user may look at as GeoJSON (WGS-84) for a map: each a point, with its
    viewshed (what it sees, buildings taken off) as ``properties.viewshed``, null until computed.
    With ``bbox``, the cameras standing in it or seeing into it."""

    permission_classes = [MaySeeCameras]

    @extend_schema(
        operation_id="cameras_list",
        parameters=[
            OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat (WGS-84)"),
            OpenApiParameter("status", str, enum=["online", "offline", "fault", "unknown"]),
        ],
        responses={200: None, 400: None, 403: None},
    )
    def get(self, request):
        query = CameraListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        cameras = cameras_visible_to(request.user).annotate(
            position=Transform("geom", WGS84),
            viewshed=AsGeoJSON(Transform("viewshed_geom", WGS84), precision=7),
        )
        if "bbox" in query.validated_data:
            box = Polygon.from_bbox(query.validated_data["bbox"])
            box.srid = WGS84
            cameras = cameras.filter(Q(geom__intersects=box) | Q(viewshed_geom__intersects=box))
        if "status" in query.validated_data:
            cameras = cameras.filter(status=query.validated_data["status"])
        features = [
            {
                "type": "Feature",
                "id": camera.code,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(camera.position.x, 7), round(camera.position.y, 7)],
                },
                "properties": {
                    **camera_json(camera),
                    "viewshed": json.loads(camera.viewshed) if camera.viewshed else None,
                },
            }
            for camera in cameras.order_by("code")
        ]
        return Response({"type": "FeatureCollection", "features": features})


class SeeingQuery(LocationInput):
    """``lon`` and ``lat`` (both required) in ``srs`` (default WGS-84)."""

    location = None
    lon = serializers.FloatField()
    lat = serializers.FloatField()


def _outside_district(lon: float, lat: float) -> Unprocessable:
    message = _("The point (lon %(lon)s, lat %(lat)s) is outside the district.") % {
        "lon": round(lon, 7),
        "lat": round(lat, 7),
    }
    if -90 <= lon <= 90 and geocode_point(lon=lat, lat=lon).inside:
        message += " " + _("It would be inside with lon and lat swapped.")
    return Unprocessable({"lon": [message]})


def _wgs84(lon: float, lat: float, srs) -> tuple[float, float]:
    if srs in ("gcj02", "bd09"):
        x, y = to_wgs84(lon, lat, srs)
        return float(x), float(y)
    if srs == WGS84:
        return lon, lat
    point = Point(lon, lat, srid=srs)
    point.transform(WGS84)
    return point.x, point.y


class CamerasSeeingView(APIView):
    """The cameras whose viewshed covers a point, nearest first: distance (m) and bearing (°
    from north, camera → point), how to watch each (stream, HLS or not, snapshot) and its status.
    """

    permission_classes = [MaySeeCameras]

    @extend_schema(
        operation_id="cameras_seeing",
        parameters=[
            OpenApiParameter("lon", float, required=True, description="longitude (or x)"),
            OpenApiParameter("lat", float, required=True, description="latitude (or y)"),
            OpenApiParameter(
                "srs", str, description="EPSG code, gcj02 or bd09; default WGS-84 (4326)"
            ),
        ],
        responses={200: None, 400: None, 403: None, 422: None},
    )
    def get(self, request):
        query = SeeingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        d = query.validated_data
        lon, lat = _wgs84(d["lon"], d["lat"], d["srs"])
        if not geocode_point(lon=lon, lat=lat).inside:
            raise _outside_district(lon, lat)
        point = Point(lon, lat, srid=WGS84)
        point.transform(STORAGE_SRID)
        sights = cameras_seeing(point=point, user=request.user)
        return Response(
            {
                "lon": round(lon, 7),
                "lat": round(lat, 7),
                "count": len(sights),
                "cameras": [sight_json(s) for s in sights],
            }
        )


# --- Video walls ------------------------------------------------------------------------------


def _wall(code: str) -> VideoWall:
    wall = VideoWall.objects.filter(code=code).first()
    if wall is None:
        raise NotFound(_("There is no video wall %(code)s.") % {"code": code})
    return wall


def _wall_failed(exc: WallError) -> ValidationError:
    return ValidationError({exc.field: [exc.message]})


class WallListView(APIView):
    """The video walls: code, name and size."""

    permission_classes = [MayRunWalls]

    @extend_schema(operation_id="walls_list", responses={200: None, 403: None})
    def get(self, request):
        return Response(
            [
                {"code": w.code, "name": w.name, "rows": w.rows, "cols": w.cols}
                for w in VideoWall.objects.order_by("code")
            ]
        )


class WallDetailView(APIView):
    """A wall with every tile (row, column, the camera it shows or null) and its presets."""

    permission_classes = [MayRunWalls]

    @extend_schema(operation_id="walls_detail", responses={200: None, 403: None, 404: None})
    def get(self, request, code: str):
        return Response(wall_json(_wall(code)))


class TileInput(serializers.Serializer):
    row = serializers.IntegerField(min_value=0)
    col = serializers.IntegerField(min_value=0)
    camera = serializers.CharField(max_length=60)


class WallTileView(APIView):
    """``POST`` {row, col, camera}: show a camera (by code) on a tile."""

    permission_classes = [MayRunWalls]

    @extend_schema(
        operation_id="walls_assign",
        request=TileInput,
        responses={200: None, 400: None, 403: None, 404: None},
    )
    def post(self, request, code: str):
        wall = _wall(code)
        data = TileInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        camera = camera_for_wall(code=d["camera"], user=request.user)
        if camera is None:
            raise NotFound(_("There is no camera %(code)s in your area.") % {"code": d["camera"]})
        try:
            wall_assign(wall=wall, row=d["row"], col=d["col"], camera=camera)
        except WallError as exc:
            raise _wall_failed(exc) from exc
        return Response(wall_json(wall))


class ClearInput(serializers.Serializer):
    row = serializers.IntegerField(min_value=0, required=False)
    col = serializers.IntegerField(min_value=0, required=False)


class WallClearView(APIView):
    """``POST`` {row, col}: empty one tile; ``POST`` {}: empty the whole wall."""

    permission_classes = [MayRunWalls]

    @extend_schema(
        operation_id="walls_clear",
        request=ClearInput,
        responses={200: None, 400: None, 403: None, 404: None},
    )
    def post(self, request, code: str):
        wall = _wall(code)
        data = ClearInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            wall_clear(
                wall=wall, row=data.validated_data.get("row"), col=data.validated_data.get("col")
            )
        except WallError as exc:
            raise _wall_failed(exc) from exc
        return Response(wall_json(wall))


class PresetInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class WallPresetListView(APIView):
    """``GET``: the wall's presets with their tiles. ``POST`` {name}: save the current layout."""

    permission_classes = [MayRunWalls]

    @extend_schema(operation_id="walls_presets", responses={200: None, 403: None, 404: None})
    def get(self, request, code: str):
        wall = _wall(code)
        return Response([{"name": p.name, "tiles": p.tiles} for p in wall.presets.all()])

    @extend_schema(
        operation_id="walls_preset_save",
        request=PresetInput,
        responses={201: None, 400: None, 403: None, 404: None},
    )
    def post(self, request, code: str):
        wall = _wall(code)
        data = PresetInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            preset = wall_preset_save(wall=wall, name=data.validated_data["name"])
        except WallError as exc:
            raise _wall_failed(exc) from exc
        return Response({"name": preset.name, "tiles": preset.tiles}, status=201)


class WallPresetApplyView(APIView):
    """``POST``: lay the wall out as the named preset says; reports what it had to skip."""

    permission_classes = [MayRunWalls]

    @extend_schema(
        operation_id="walls_preset_apply", request=None, responses={200: None, 403: None, 404: None}
    )
    def post(self, request, code: str, name: str):
        wall = _wall(code)
        try:
            applied = wall_preset_apply(wall=wall, name=name)
        except WallError as exc:
            raise NotFound(exc.message) from exc
        return Response({**wall_json(wall), "placed": applied.placed, "skipped": applied.skipped})


class FocusInput(serializers.Serializer):
    case = serializers.IntegerField(min_value=1)


class WallFocusView(APIView):
    """``POST`` {case}: fill the wall with the cameras that see the case (nearest first), then
    the nearest others (online first). Answers the wall and, per camera put up, whether it sees
    the case."""

    permission_classes = [MayRunWalls]

    @extend_schema(
        operation_id="walls_focus",
        request=FocusInput,
        responses={200: None, 400: None, 403: None, 404: None},
    )
    def post(self, request, code: str):
        wall = _wall(code)
        data = FocusInput(data=request.data)
        data.is_valid(raise_exception=True)
        case_id = data.validated_data["case"]
        case = cases_visible_to(request.user).filter(pk=case_id).only("pk", "geom").first()
        if case is None:
            raise NotFound(_("No case %(id)s in your area.") % {"id": case_id})
        chosen = wall_focus(wall=wall, point=case.geom, user=request.user)
        return Response(
            {
                **wall_json(wall),
                "case": case.pk,
                "focus": [
                    {"code": s.camera.code, "sees": sees, "distance_m": s.distance_m}
                    for s, sees in chosen
                ],
            }
        )
