"""Shared pieces of the spatial models: the storage SRID, named GiST indexes, validity checks.

Every geometry column carries the deployment's storage SRID (``settings.GRIDMAP_SRID``, never a
literal), a GiST index with a stable name, and a CHECK constraint that refuses invalid geometry,
so that nothing invalid reaches a spatial predicate whatever wrote it.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models import Q

STORAGE_SRID: int = settings.GRIDMAP_SRID
WGS84 = 4326


def gist(table: str, field: str = "geom") -> GistIndex:
    """A named GiST index on ``field`` (Django's automatic spatial index has a generated name)."""
    return GistIndex(fields=[field], name=f"{table}_{field}_gist")


def valid_geometry(table: str, field: str = "geom") -> models.CheckConstraint:
    """CHECK (ST_IsValid(field)): the database refuses invalid rings and self-intersections."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isvalid": True}) | Q(**{f"{field}__isnull": True}),
        name=f"{table}_{field}_valid",
    )


class CodedFeature(models.Model):
    """A feature with a unique code (its stable identity across imports) and a name."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name or self.code} ({self.code})" if self.name else self.code
