# The road network is derived from gridmap_road; it must never be silently out of date, whoever
# writes the roads (the admin through the ORM, the importers with bulk upserts, the demo loader,
# raw SQL). A statement-level trigger only marks it behind (roads_version + 1): a guard the
# database keeps whatever the caller (DESIGN: triggers only as guards); the rebuild itself is
# Python (dispatch/network.py), queued after road edits and run by the catch-up sweep.

from django.db import migrations

FORWARD = """
CREATE FUNCTION dispatch_roads_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dispatch_networkstate (id, roads_version, built_version, roads, edges, vertices,
                                       snapped_ends, split_roads, crossings, components,
                                       isolated_vertices)
    VALUES (1, 1, -1, 0, 0, 0, 0, 0, 0, 0, 0)
    ON CONFLICT (id) DO UPDATE
        SET roads_version = dispatch_networkstate.roads_version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER dispatch_roads_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON gridmap_road
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch_roads_changed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS dispatch_roads_changed ON gridmap_road;
DROP FUNCTION IF EXISTS dispatch_roads_changed();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0001_network"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]
