"""Load the standard component classes (部件类别, CJ/T 214 major / minor classes)."""

import csv
from pathlib import Path

from django.db import migrations

CSV = Path(__file__).resolve().parent.parent / "data" / "component_classes.csv"


def load(apps, schema_editor):
    ComponentClass = apps.get_model("gridmap", "ComponentClass")
    with CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ComponentClass.objects.update_or_create(
                major_code=row["major_code"],
                minor_code=row["minor_code"],
                defaults={"major_name": row["major_name"], "minor_name": row["minor_name"]},
            )


class Migration(migrations.Migration):
    dependencies = [("gridmap", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
