"""Thin API view of address search (地理编码): ``GET /api/v1/search?q=…``, public, rate-limited."""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .api import LookupThrottle
from .selectors.search import KINDS, MAX_LIMIT, MAX_QUERY_LENGTH, address_search


class CommaSeparatedChoicesField(serializers.Field):
    """``road,poi,grid``: each item one of ``choices`` (DRF's own message names a bad one)."""

    def __init__(self, *, choices, **kwargs):
        super().__init__(**kwargs)
        self.item = serializers.ChoiceField(choices=choices)

    def to_internal_value(self, data):
        return [self.item.run_validation(v.strip()) for v in str(data).split(",") if v.strip()]

    def to_representation(self, value):
        return ",".join(value)


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)
    kinds = CommaSeparatedChoicesField(choices=KINDS, required=False)


class SearchHitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    code = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    detail = serializers.CharField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    bbox = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4, allow_null=True
    )


class SearchView(APIView):
    """Places by (partial) name, address or code: roads, intersections, POIs, buildings,
    communities, subdistricts, unit grids, responsibility zones and water (public, rate-limited).
    """

    permission_classes = [AllowAny]
    throttle_classes = [LookupThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description="Name, address or code, or two roads: 航海东路与经开第八大街",
            ),
            OpenApiParameter("limit", int, description=f"1 to {MAX_LIMIT}, default 10"),
            OpenApiParameter(
                "kinds", str, description="Comma-separated, some of: " + ", ".join(KINDS)
            ),
        ],
        responses={
            200: inline_serializer("SearchResults", {"results": SearchHitSerializer(many=True)}),
            400: None,
            429: None,
        },
    )
    def get(self, request):
        params = SearchQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        hits = address_search(q=data["q"], kinds=data.get("kinds") or None, limit=data["limit"])
        return Response({"results": SearchHitSerializer([asdict(h) for h in hits], many=True).data})
