"""GeoJSON of a layer within a bounding box, built by PostGIS in one query.

PostGIS assembles the whole FeatureCollection (``json_agg``), so no geometry passes through
Python objects: this is the cheap path for thousands of features. Output is WGS-84 with six
decimals (~0.1 m).
"""

from django.db import connection

from gridmap.crs import clip_to_storage_crs_domain
from gridmap.models import STORAGE_SRID, WGS84

from .registry import Layer


def _scope_condition(user) -> tuple[str, list]:
    """SQL restricting a managed layer to the user's area (interiors must intersect)."""
    if user.community_id:
        table, key = "gridmap_community", user.community_id
    elif user.subdistrict_id:
        table, key = "gridmap_subdistrict", user.subdistrict_id
    else:
        return "", []
    return (
        f" AND ST_Relate({{geom}}, (SELECT geom FROM {table} WHERE id = %s), 'T********')",
        [key],
    )


def layer_geojson(
    layer: Layer,
    *,
    user,
    bbox: tuple[float, float, float, float] | None = None,
    filters: dict[str, str] | None = None,
) -> str:
    """The layer's features as a GeoJSON FeatureCollection (text), WGS-84.

    ``bbox`` is (min lon, min lat, max lon, max lat); ``filters`` maps the layer's filter
    parameters to values. Managed layers are limited to the user's geographic scope.
    """
    geom = layer.geom_column if "(" in layer.geom_column else f"t.{layer.geom_column}"
    props = ", ".join(f"'{key}', {expr}" for key, expr in layer.properties.items())
    conditions = [f"{geom} IS NOT NULL"]
    params: list = []
    if bbox is not None:
        minx, miny, maxx, maxy = clip_to_storage_crs_domain(bbox)
        conditions.append(
            f"{geom} && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, {WGS84}), {STORAGE_SRID})"
        )
        params += [minx, miny, maxx, maxy]
    for key, value in (filters or {}).items():
        conditions.append(f"{layer.filters[key]} = %s")
        params.append(value)
    if layer.where:
        conditions.append(layer.where)
    scope_sql, scope_params = _scope_condition(user) if layer.managed else ("", [])
    sql = (
        "SELECT json_build_object('type', 'FeatureCollection', 'features', "
        "coalesce(json_agg(json_build_object('type', 'Feature', 'id', t.id, "
        f"'geometry', ST_AsGeoJSON(ST_Transform({geom}, {WGS84}), 6)::json, "
        f"'properties', json_build_object({props}))), '[]'::json))::text "
        f"FROM {layer.table} t WHERE {' AND '.join(conditions)}" + scope_sql.format(geom=geom)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params + scope_params)
        return cursor.fetchone()[0]
