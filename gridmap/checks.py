"""System checks: the storage SRID is fixed per database at its first migration.

``GRIDMAP_SRID`` is read by the models and the migrations; once a database has been migrated its
geometry columns carry that SRID. Starting the platform against it with another value would store
coordinates in the wrong CRS, so ``manage.py check --database default`` (run by ``make run``)
refuses it with an explanation.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connections
from django.db.utils import DatabaseError


@register(Tags.database)
def storage_srid_matches_database(app_configs, databases=None, **kwargs):
    errors = []
    for alias in databases or []:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(
                    "SELECT srid FROM geometry_columns "
                    "WHERE f_table_name = 'gridmap_district' AND f_geometry_column = 'geom'"
                )
                row = cursor.fetchone()
        except DatabaseError:
            continue  # not migrated yet (or no PostGIS): migrate will say so
        if row and row[0] != settings.GRIDMAP_SRID:
            errors.append(
                Error(
                    f"GRIDMAP_SRID is {settings.GRIDMAP_SRID} but database {alias!r} was "
                    f"migrated with SRID {row[0]}.",
                    hint=(
                        "The storage CRS is fixed when a database is first migrated. Set "
                        f"GRIDMAP_SRID={row[0]}, or migrate a new, empty database."
                    ),
                    id="gridmap.E001",
                )
            )
    return errors
