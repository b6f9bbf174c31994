"""``manage.py build_network``: rebuild the road network (路网) that dispatch routes over."""

from django.core.management.base import BaseCommand, CommandError

from dispatch.network import network_rebuild, network_state, network_tolerance_m


class Command(BaseCommand):
    help = (
        "Rebuild the routing network (pgRouting edges and vertices) from the roads, in one "
        "transaction: road ends within the tolerance become one junction, a road end on another "
        "road's middle splits it (T junction), travel times come from each road's length and "
        "speed (or its class's), and one-way streets are closed against their direction. "
        "Prints what it built and found (crossings without a junction, disconnected pieces)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tolerance",
            type=float,
            default=None,
            help=f"metres within which road ends are one junction (default "
            f"{network_tolerance_m():g}, GRIDMAP_NETWORK_TOLERANCE_M)",
        )
        parser.add_argument(
            "--if-behind",
            action="store_true",
            help="only rebuild when roads changed since the last build",
        )

    def handle(self, *args, tolerance, if_behind, **options):
        if tolerance is not None and not 0 <= tolerance <= 50:
            raise CommandError(f"--tolerance must lie between 0 and 50 m, not {tolerance:g}")
        build = network_rebuild(tolerance_m=tolerance, if_behind=if_behind)
        if build is None:
            state = network_state()
            self.stdout.write(
                f"The network is current (built {state.built_at:%Y-%m-%d %H:%M:%S}, "
                f"{state.edges} edges); nothing to do."
            )
            return
        self.stdout.write(
            f"Built the road network from {build.roads} roads in {build.build_ms:.0f} ms: "
            f"{build.edges} edges, {build.vertices} junctions (tolerance {build.tolerance_m:g} m); "
            f"{build.snapped_ends} road ends snapped, {build.split_roads} roads split at "
            f"T junctions."
        )
        if build.crossings:
            where = "; ".join(
                f"{a} × {b} at {lon:.6f}, {lat:.6f}" for a, b, lon, lat in build.crossing_examples
            )
            self.stdout.write(
                self.style.WARNING(
                    f"{build.crossings} places where roads cross without a junction (a bridge, "
                    f"or roads to split at the crossing): {where}"
                )
            )
        if build.components > 1:
            self.stdout.write(
                self.style.WARNING(
                    f"The network falls into {build.components} separate pieces; "
                    f"{build.isolated_vertices} junctions lie outside the largest one (teams or "
                    "cases there get straight-line estimates)."
                )
            )
        if not build.edges:
            raise CommandError("There are no drivable roads: import roads first.")
