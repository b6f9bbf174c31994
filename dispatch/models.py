"""The road network (路网) that dispatch routes over, derived from ``gridmap.Road``.

The tables are *derived data*: ``network_rebuild`` (dispatch/network.py) fills them from the
roads in one transaction, and nothing else writes them. pgRouting reads ``NetworkEdge`` through
an edges query (``id, source, target, cost, reverse_cost``); costs are travel times in seconds,
lengths in metres, geometry in the storage CRS (``GRIDMAP_SRID``, metric).
"""

from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap.models import STORAGE_SRID
from gridmap.models.base import gist


class NetworkEdge(models.Model):
    """One edge of the routing network: a road, or a piece of one between two junctions.

    ``cost_s`` is the time (s) to drive it in its drawn direction (``source`` → ``target``),
    ``reverse_cost_s`` against it; -1 where traffic may not go (one-way streets).
    """

    id = models.BigAutoField(primary_key=True)
    #: The road this edge comes from (not a foreign key: the network is rebuilt after road
    #: edits, and a deleted road must not wait for it).
    road_id = models.BigIntegerField()
    source = models.BigIntegerField()
    target = models.BigIntegerField()
    cost_s = models.FloatField()
    reverse_cost_s = models.FloatField()
    length_m = models.FloatField()
    geom = models.LineStringField(srid=STORAGE_SRID, spatial_index=False)

    class Meta:
        verbose_name = _("network edge")
        verbose_name_plural = _("network edges")
        indexes = [gist("networkedge")]


class NetworkVertex(models.Model):
    """A junction (or dead end) of the routing network; ids are those of ``NetworkEdge``'s
    ``source`` and ``target``."""

    id = models.BigIntegerField(primary_key=True)
    geom = models.PointField(srid=STORAGE_SRID, spatial_index=False)

    class Meta:
        verbose_name = _("network vertex")
        verbose_name_plural = _("network vertices")
        indexes = [gist("networkvertex")]


class NetworkState(models.Model):
    """The one row saying how current the network is and what its last build found.

    Every write to the roads bumps ``roads_version`` in its own transaction (a trigger,
    migration 0002); a build records the version it read in ``built_version``.
    ``built_version < roads_version``: the network is behind the roads (a rebuild is queued, or
    the catch-up sweep or ``build_network`` will make it).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    roads_version = models.BigIntegerField(default=0)
    built_version = models.BigIntegerField(default=-1)
    built_at = models.DateTimeField(null=True, blank=True)
    build_ms = models.FloatField(null=True, blank=True)
    tolerance_m = models.FloatField(null=True, blank=True)
    roads = models.IntegerField(default=0)
    edges = models.IntegerField(default=0)
    vertices = models.IntegerField(default=0)
    #: Road ends moved onto a junction within the tolerance.
    snapped_ends = models.IntegerField(default=0)
    #: Roads split where another road ends on them (T junctions).
    split_roads = models.IntegerField(default=0)
    #: Places where roads cross without a junction (bridges over roads, or roads to split).
    crossings = models.IntegerField(default=0)
    #: Separate pieces of the network (ignoring one-way rules); 1 when all is connected.
    components = models.IntegerField(default=0)
    #: Vertices outside the largest piece: teams or cases snapped there may find no path.
    isolated_vertices = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("road network state")
        verbose_name_plural = _("road network state")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="networkstate_one_row")]

    def __str__(self) -> str:
        return str(_("road network"))

    @property
    def is_current(self) -> bool:
        return self.built_version >= self.roads_version
