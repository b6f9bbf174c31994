"""``manage.py generate_grids``: split communities into unit grids (单元网格) of a target area."""

import statistics

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import ProtectedError

from gridmap.models import Community
from gridmap.services.unit_grids import community_generate_grids

from .import_district import progress_bar


class Command(BaseCommand):
    help = (
        "Split communities into unit grids of about --target-area m² that tile them exactly, "
        "numbered west→east then north→south and coded per GRIDMAP_GRID_CODE_LAYOUT. "
        "All-or-nothing over all the communities asked for."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--community", action="append", metavar="CODE", help="a community code (repeatable)"
        )
        which.add_argument("--all", action="store_true", help="every community")
        parser.add_argument(
            "--target-area",
            type=float,
            default=settings.GRIDMAP_GRID_TARGET_AREA_M2,
            help="target grid area in m² (default %(default)s)",
        )
        parser.add_argument(
            "--along-roads",
            action="store_true",
            help="cut along the roads first, so that no grid straddles a road",
        )
        parser.add_argument(
            "--replace", action="store_true", help="replace the communities' existing grids"
        )
        parser.add_argument("--dry-run", action="store_true", help="report, write nothing")

    def handle(self, *args, community, all, target_area, along_roads, replace, dry_run, **kw):
        if target_area < 100:
            raise CommandError(f"--target-area {target_area:g} m² is too small (at least 100)")
        communities = Community.objects.order_by("code")
        if not all:
            communities = communities.filter(code__in=community)
            missing = sorted(set(community) - set(communities.values_list("code", flat=True)))
            if missing:
                raise CommandError(f"no such community: {', '.join(missing)}")
        communities = list(communities)
        if not communities:
            raise CommandError("there are no communities: import them first (import_district)")
        rows = []
        try:
            with transaction.atomic():
                for item in progress_bar(communities, total=len(communities), desc="grids"):
                    grids = community_generate_grids(
                        community=item,
                        target_area_m2=target_area,
                        along_roads=along_roads,
                        replace=replace,
                    )
                    areas = [g.area_m2 for g in grids]
                    drift = abs(sum(areas) - item.geom.area) / item.geom.area
                    if drift > 0.001:
                        raise CommandError(
                            f"community {item.code}: the grids' areas differ from the "
                            f"community's by {drift:.3%} (more than 0.1 %)"
                        )
                    rows.append(
                        (item, len(grids), min(areas), statistics.median(areas), max(areas), drift)
                    )
                if dry_run:
                    transaction.set_rollback(True)
        except (ValueError, ProtectedError) as exc:
            raise CommandError(f"nothing was written: {exc}") from exc
        self.stdout.write(
            f"{'community':<28} {'grids':>5} {'min m²':>9} {'median m²':>9} "
            f"{'max m²':>9} {'area drift':>10}"
        )
        for item, n, lo, mid, hi, drift in rows:
            self.stdout.write(
                f"{item.code + ' ' + item.name:<28} {n:>5} {lo:>9.0f} {mid:>9.0f} "
                f"{hi:>9.0f} {drift:>10.2e}"
            )
        total = sum(r[1] for r in rows)
        verb = "would be generated (dry run, nothing written)" if dry_run else "generated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{total} grids {verb} in {len(rows)} communities (target {target_area:g} m²)."
            )
        )
