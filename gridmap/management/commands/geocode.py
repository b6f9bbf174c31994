"""``manage.py geocode``: bulk-assign the points of a CSV file to subdistrict, community, unit
grid and zones (批量地址匹配)."""

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gridmap.services.bulk_geocode import OUTPUT_COLUMNS, BulkGeocodeError, csv_geocode


class Command(BaseCommand):
    help = (
        "Geocode every row of a CSV file: append the subdistrict, community, unit grid and zones "
        f"covering its point ({', '.join(OUTPUT_COLUMNS)}). Every input row and column is kept "
        "as text, in order; rows outside the district and rows without usable coordinates are "
        "kept and marked. Same answers as the geocoder API (boundaries count as inside, the "
        "lowest code wins on shared edges)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--in", dest="in_path", type=Path, required=True, help="input CSV")
        parser.add_argument(
            "--out", dest="out_path", type=Path, required=True, help="output CSV (UTF-8)"
        )
        parser.add_argument("--lon", required=True, help="column of longitudes (or x)")
        parser.add_argument("--lat", required=True, help="column of latitudes (or y)")
        parser.add_argument(
            "--srs",
            default=None,
            help="coordinate system of the input: an EPSG code (4326, EPSG:4490…), gcj02 "
            "(AMap, Tencent) or bd09 (Baidu); default WGS-84",
        )
        parser.add_argument(
            "--encoding", default="utf-8", help="encoding of the input (default utf-8; e.g. gbk)"
        )

    def handle(self, *args, in_path: Path, out_path: Path, lon, lat, srs, encoding, **options):
        started = time.perf_counter()
        in_path, out_path = Path(in_path), Path(out_path)  # call_command passes strings as given
        size = in_path.stat().st_size if in_path.is_file() else None
        # The bar goes to stderr (shown on a terminal only); the summary to stdout.
        with tqdm(
            total=size, unit="B", unit_scale=True, desc="geocode", file=sys.stderr, disable=None
        ) as bar:
            try:
                summary = csv_geocode(
                    in_path=in_path,
                    out_path=out_path,
                    lon_column=lon,
                    lat_column=lat,
                    srs=srs,
                    encoding=encoding,
                    progress=bar.update,
                )
            except BulkGeocodeError as exc:
                raise CommandError(f"Nothing written: {exc}") from None
        elapsed = time.perf_counter() - started
        rows = [
            ("rows", summary.rows),
            ("inside", summary.inside),
            ("outside", summary.outside),
            ("invalid", summary.invalid),
        ]
        rows += [(f"  {reason}", n) for reason, n in summary.invalid_reasons.most_common()]
        width = max(len(name) for name, _ in rows)
        for name, n in rows:
            self.stdout.write(f"{name:<{width}}  {n:>12,}")
        self.stdout.write(f"{'seconds':<{width}}  {elapsed:>12.2f}")
        if summary.swap_hint:
            self.stdout.write(self.style.WARNING(f"Warning: {summary.swap_hint}"))
        self.stdout.write(self.style.SUCCESS(f"Wrote {out_path}."))
