"""Thin API views: the layer catalogue and GeoJSON of one layer by bounding box."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .registry import LAYERS
from .selectors import layer_geojson


class BboxField(serializers.CharField):
    """``min_lon,min_lat,max_lon,max_lat`` in WGS-84 degrees."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        message = _("bbox must be four numbers: min_lon,min_lat,max_lon,max_lat.")
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            raise ValidationError(message) from None
        if len(values) != 4:
            raise ValidationError(message)
        minx, miny, maxx, maxy = values
        if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
            raise ValidationError(
                _("bbox must satisfy -180 <= min_lon < max_lon <= 180")
                + _(" and -90 <= min_lat < max_lat <= 90.")
            )
        return values


class LayerQuery(serializers.Serializer):
    bbox = BboxField(required=False)
    kind = serializers.CharField(required=False, max_length=40)


class LayerListView(APIView):
    """The layers this user may draw, with their titles and geometry kinds."""

    @extend_schema(operation_id="layers_list", responses={200: None})
    def get(self, request):
        return Response(
            [
                {"name": layer.name, "title": str(layer.title), "geometry": layer.geometry}
                for layer in LAYERS.values()
            ]
        )


class LayerView(APIView):
    """One layer as GeoJSON (WGS-84), optionally within ``bbox``; scoped to the user's area."""

    @extend_schema(
        operation_id="layers_geojson",
        parameters=[
            OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat (WGS-84)"),
            OpenApiParameter("kind", str, description="zones / pois: only this kind"),
        ],
        responses={200: None},
    )
    def get(self, request, name: str):
        layer = LAYERS.get(name)
        if layer is None:
            raise NotFound(_("There is no layer named %(name)r.") % {"name": name})
        query = LayerQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = {
            key: query.validated_data[key] for key in layer.filters if key in query.validated_data
        }
        body = layer_geojson(
            layer, user=request.user, bbox=query.validated_data.get("bbox"), filters=filters
        )
        return HttpResponse(body, content_type="application/geo+json")
