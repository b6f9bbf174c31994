"""Thin API views of the backbone: the public geocoder and unit-grid details."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from .api_errors import Unprocessable
from .selectors import geocode_point, grid_detail


class ClientAddressThrottle(SimpleRateThrottle):
    """Rate limit per client address, logged in or not (public endpoints, DESIGN §5).

    The counters live in the Redis cache, so every web process shares them. The rate is read
    from the settings on each request (DRF binds it at import), so a deployment or a test can
    change it.
    """

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LookupThrottle(ClientAddressThrottle):
    scope = "lookup"


class LonLatSerializer(serializers.Serializer):
    """A WGS-84 point given as ``lon`` and ``lat`` in degrees."""

    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)

    def to_internal_value(self, data):
        # The classic mistake is lat first: say so when the numbers only make sense swapped.
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            lat_errors = exc.detail.get("lat") if isinstance(exc.detail, dict) else None
            if lat_errors and "lon" not in exc.detail:
                try:
                    lon, lat = float(data.get("lon")), float(data.get("lat"))
                except (TypeError, ValueError):
                    raise exc from None
                if -90 <= lon <= 90 and -180 <= lat <= 180:
                    raise serializers.ValidationError(
                        {
                            "lat": [
                                _(
                                    "Latitude must lie between -90 and 90, got %(lat)s: "
                                    "are lon and lat swapped?"
                                )
                                % {"lat": data.get("lat")}
                            ]
                        }
                    ) from None
            raise


def _holder_is_public(request, zone) -> bool:
    """The public sees a frontage zone's holder (a shop, named at its door); the holders of
    other zones are people — patrol inspectors, office leaders — named only to logged-in users."""
    return request.user.is_authenticated or zone.kind == "frontage"


def _area(ref):
    return None if ref is None else {"code": ref.code, "name": ref.name}


_area_schema = inline_serializer(
    "AreaRef", {"code": serializers.CharField(), "name": serializers.CharField()}
)


class GeocodeView(APIView):
    """Which subdistrict, community, unit grid and zones cover a point (public, rate-limited)."""

    permission_classes = [AllowAny]
    throttle_classes = [LookupThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("lon", float, required=True, description="WGS-84 longitude"),
            OpenApiParameter("lat", float, required=True, description="WGS-84 latitude"),
        ],
        responses={
            200: inline_serializer(
                "Geocode",
                {
                    "lon": serializers.FloatField(),
                    "lat": serializers.FloatField(),
                    "district": _area_schema,
                    "subdistrict": _area_schema,
                    "community": _area_schema,
                    "grid": _area_schema,
                    "zones": inline_serializer(
                        "ZoneRef",
                        {
                            "code": serializers.CharField(),
                            "name": serializers.CharField(),
                            "kind": serializers.CharField(),
                            "holder": serializers.CharField(),
                        },
                        many=True,
                    ),
                },
            ),
            400: None,
            422: None,
            429: None,
        },
    )
    def get(self, request):
        params = LonLatSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        lon, lat = params.validated_data["lon"], params.validated_data["lat"]
        address = geocode_point(lon=lon, lat=lat)
        if not address.inside:
            message = _("The point (lon %(lon)s, lat %(lat)s) is outside the district.") % {
                "lon": lon,
                "lat": lat,
            }
            if -90 <= lon <= 90 and geocode_point(lon=lat, lat=lon).inside:
                message += " " + _("It would be inside with lon and lat swapped.")
            raise Unprocessable(message)
        return Response(
            {
                "lon": lon,
                "lat": lat,
                "district": _area(address.district),
                "subdistrict": _area(address.subdistrict),
                "community": _area(address.community),
                "grid": _area(address.grid),
                "zones": [
                    {
                        "code": z.code,
                        "name": z.name,
                        "kind": z.kind,
                        "holder": z.holder if _holder_is_public(request, z) else "",
                    }
                    for z in address.zones
                ],
            }
        )


class GridDetailView(APIView):
    """A unit grid: code, community, subdistrict, area and the zones it overlaps (scoped)."""

    @extend_schema(responses={200: None, 404: None})
    def get(self, request, code: str):
        detail = grid_detail(code=code, user=request.user)
        if detail is None:
            raise NotFound(_("No unit grid %(code)s in your area.") % {"code": code})
        return Response(detail)
