"""Admin for the road network (路网): how current it is, what the last build found, and a
button to rebuild it now (the same service as ``manage.py build_network``)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import NetworkState
from .network import network_rebuild


@admin.register(NetworkState)
class NetworkStateAdmin(admin.ModelAdmin):
    """One row, read only: the network is derived data, rebuilt from the roads."""

    list_display = [
        "__str__",
        "current",
        "built_at",
        "edges",
        "vertices",
        "crossings",
        "components",
        "isolated_vertices",
        "build_ms",
    ]
    readonly_fields = [f.name for f in NetworkState._meta.fields]
    actions = ["rebuild"]

    @admin.display(boolean=True, description=_("current with the roads"))
    def current(self, obj: NetworkState) -> bool:
        return obj.is_current

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Rebuild the road network now"))
    def rebuild(self, request, queryset):
        build = network_rebuild()
        self.message_user(
            request,
            _(
                "Rebuilt from %(roads)d roads: %(edges)d edges, %(vertices)d junctions; "
                "%(crossings)d crossings without a junction, %(components)d piece(s)."
            )
            % {
                "roads": build.roads,
                "edges": build.edges,
                "vertices": build.vertices,
                "crossings": build.crossings,
                "components": build.components,
            },
            messages.WARNING if build.crossings or build.components > 1 else messages.SUCCESS,
        )
