# Position tracks as a table partitioned by month, and the field-team models' additions for
# attendance and geofence events.
#
# Django cannot create a partitioned table, so ``gridmap_position`` is written in SQL here and
# the CreateModel only records it in the migration state (SeparateDatabaseAndState). The model
# stays managed so that Django's flush (transactional tests) empties it too. No foreign keys in
# the database (see gridmap/models/tracking.py). The storage SRID comes from settings
# (GRIDMAP_SRID), never a literal. Months are cut at local midnight
# (TIME_ZONE); the tracking app's ``ensure_position_partitions`` creates later months the same
# way, and moves rows out of the DEFAULT partition when it creates a month that already has some.

import datetime
import zoneinfo

import django.contrib.gis.db.models.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FLAGS = ("", "outside_district", "impossible_speed", "inaccurate")


def _create_table_sql() -> str:
    flags = ", ".join(f"'{flag}'" for flag in FLAGS)
    return f"""
CREATE TABLE gridmap_position (
    device_id bigint NOT NULL,
    at timestamptz NOT NULL,
    team_id bigint NULL,
    geom geometry(Point, {int(settings.GRIDMAP_SRID)}) NOT NULL,
    speed_kmh double precision NULL,
    heading double precision NULL,
    accuracy_m double precision NULL,
    flag varchar(20) NOT NULL DEFAULT '' CONSTRAINT gridmap_position_flag CHECK (flag IN ({flags})),
    received_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gridmap_position_pk PRIMARY KEY (device_id, at)
) PARTITION BY RANGE (at);
CREATE INDEX gridmap_position_team_at ON gridmap_position (team_id, at)
    WHERE team_id IS NOT NULL;
CREATE TABLE gridmap_position_default PARTITION OF gridmap_position DEFAULT;
"""


def create_first_partitions(apps, schema_editor) -> None:
    """This month and the next two, cut at local midnight."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today = datetime.datetime.now(tz).date()
    year, month = today.year, today.month
    for _ in range(3):
        nyear, nmonth = (year + 1, 1) if month == 12 else (year, month + 1)
        start = datetime.datetime(year, month, 1, tzinfo=tz)
        end = datetime.datetime(nyear, nmonth, 1, tzinfo=tz)
        schema_editor.execute(
            f"CREATE TABLE IF NOT EXISTS gridmap_position_y{year:04d}m{month:02d} "
            f"PARTITION OF gridmap_position FOR VALUES FROM (%s) TO (%s)",
            [start.isoformat(), end.isoformat()],
        )
        year, month = nyear, nmonth


class Migration(migrations.Migration):
    dependencies = [
        ("gridmap", "0005_field_teams"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    _create_table_sql(),
                    reverse_sql="DROP TABLE IF EXISTS gridmap_position CASCADE;",
                ),
                migrations.RunPython(create_first_partitions, migrations.RunPython.noop),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="Position",
                    fields=[
                        (
                            "pk",
                            models.CompositePrimaryKey(
                                "device_id",
                                "at",
                                blank=True,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        (
                            "device",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="positions",
                                to="gridmap.device",
                            ),
                        ),
                        ("at", models.DateTimeField(verbose_name="time of fix")),
                        (
                            "team",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="gridmap.team",
                            ),
                        ),
                        (
                            "geom",
                            django.contrib.gis.db.models.fields.PointField(
                                spatial_index=False, srid=settings.GRIDMAP_SRID
                            ),
                        ),
                        ("speed_kmh", models.FloatField(blank=True, null=True)),
                        ("heading", models.FloatField(blank=True, null=True)),
                        ("accuracy_m", models.FloatField(blank=True, null=True)),
                        (
                            "flag",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("", "good"),
                                    ("outside_district", "outside the district"),
                                    ("impossible_speed", "impossible speed from the previous fix"),
                                    ("inaccurate", "inaccurate fix"),
                                ],
                                default="",
                                max_length=20,
                            ),
                        ),
                        ("received_at", models.DateTimeField()),
                    ],
                    options={
                        "verbose_name": "position",
                        "verbose_name_plural": "positions",
                        "db_table": "gridmap_position",
                        "ordering": ["device", "at"],
                    },
                ),
            ],
        ),
        migrations.AddField(
            model_name="attendance",
            name="distance_m",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="attendance",
            name="shift_start",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="attendance",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attendance",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="geofence",
            name="buffer_m",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="attendance",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "absent")),
                fields=("team", "shift_start"),
                name="attendance_one_absence",
            ),
        ),
        migrations.AddField(
            model_name="geofenceevent",
            name="ended_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="geofenceevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_at__isnull", True)),
                fields=("vehicle", "geofence"),
                name="geofenceevent_one_open",
            ),
        ),
    ]
