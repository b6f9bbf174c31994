"""``manage.py import_cameras FILE`` (or ``--from-osm``): import cameras (摄像头点位)."""

import json
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cameras.importing import osm_rows
from gridmap.importing import ImportOptions, import_file
from gridmap.management.commands.import_district import parse_field_mappings, progress_bar
from gridmap.models import WGS84


class Command(BaseCommand):
    help = (
        "Import cameras from CSV/Excel (lon/lat columns), GeoJSON, GeoPackage, Shapefile or KML, "
        "or with --from-osm the surveillance points import_osm found. Columns are recognised by "
        "name (heading/方向 in degrees or compass letters, fov/视场角 or focal_length+"
        "sensor_width, range/可视距离, height/安装高度, ptz/type/球机, stream/视频流, snapshot, "
        "owner/权属单位); missing values take reported defaults. All-or-nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="the file to import")
        parser.add_argument(
            "--from-osm",
            action="store_true",
            help="import the surveillance points (man_made=surveillance) of import_osm",
        )
        parser.add_argument("--layer")
        parser.add_argument(
            "--srs", help="EPSG code, gcj02 or bd09 (default: the file's CRS, else WGS-84)"
        )
        parser.add_argument("--code-field", default="code")
        parser.add_argument("--name-field", default="name")
        parser.add_argument("--field", action="append", default=[], metavar="NAME=COLUMN")
        parser.add_argument("--lon-field")
        parser.add_argument("--lat-field")
        parser.add_argument(
            "--replace", action="store_true", help="also delete cameras the file no longer has"
        )
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **opts):
        if bool(opts["file"]) == opts["from_osm"]:
            raise CommandError("give either a FILE or --from-osm")
        options = ImportOptions(
            level="camera",
            layer=opts["layer"],
            srs=opts["srs"],
            code_field=opts["code_field"],
            name_field=opts["name_field"],
            fields=parse_field_mappings(opts["field"]),
            lon_field=opts["lon_field"],
            lat_field=opts["lat_field"],
            dry_run=opts["dry_run"],
            replace=opts["replace"],
        )
        if opts["from_osm"]:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "osm-cameras.geojson"
                path.write_text(json.dumps(_osm_collection()), encoding="utf-8")
                report = import_file(path, options, progress=progress_bar)
        else:
            report = import_file(opts["file"], options, progress=progress_bar)
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            first = f": {report.errors[0]}" if len(report.errors) == 1 else " (see above)"
            raise CommandError(f"{len(report.errors)} error(s), nothing was written{first}")


def _osm_collection() -> dict:
    rows = osm_rows()
    if not rows:
        raise CommandError(
            "there are no surveillance points to import: run import_osm on an extract with "
            "man_made=surveillance first"
        )
    features = []
    for row in rows:
        point = row.pop("geom").transform(WGS84, clone=True)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
                "properties": row,
            }
        )
    return {"type": "FeatureCollection", "features": features}
