"""Load the standard taxonomy of case categories (cases/data/categories.yaml).

A fresh deployment has the categories after ``migrate``. Departments are linked by code or name
when they exist already; a deployment that creates them later links them with
``cases.taxonomy.categories_link_departments()`` (the demo loader does) or by importing the file
again (``manage.py import_categories``). Re-running upserts by code; reversing keeps the rows
(cases may refer to them).

The file is read with the taxonomy's own checker (no database involved) and written with the
historical models, field by field, so that later changes to the service do not change what this
migration does.
"""

from django.db import migrations


def load(apps, schema_editor):
    from cases.taxonomy import SHIPPED, read_categories

    specs, report = read_categories(path=SHIPPED)
    if not report.ok:
        raise RuntimeError("\n".join(["cases/data/categories.yaml is invalid:", *report.lines()]))
    Category = apps.get_model("cases", "Category")
    CategoryTimeLimit = apps.get_model("cases", "CategoryTimeLimit")
    ComponentClass = apps.get_model("gridmap", "ComponentClass")
    Department = apps.get_model("gridmap", "Department")
    classes = {c.major_code + c.minor_code: c.pk for c in ComponentClass.objects.all()}
    departments = {}
    for d in Department.objects.order_by("pk"):
        departments.setdefault(d.name, d.pk)
    for d in Department.objects.all():
        departments[d.code] = d.pk
    for spec in specs:
        category, _ = Category.objects.update_or_create(
            code=spec.code,
            defaults={
                "kind": spec.kind,
                "major_code": spec.major_code,
                "major_name": spec.major_name,
                "minor_code": spec.minor_code,
                "minor_name": spec.minor_name,
                "public_name": spec.public_name,
                "filing_criterion": spec.filing_criterion,
                "closing_criterion": spec.closing_criterion,
                "department_id": departments.get(spec.department),
                "component_class_id": classes.get(spec.component_class),
                "duplicate_radius_m": spec.duplicate_radius_m,
                "duplicate_window_h": spec.duplicate_window_h,
                "remit": ",".join(spec.remit),
                "active": spec.active,
            },
        )
        CategoryTimeLimit.objects.filter(category=category).delete()
        CategoryTimeLimit.objects.bulk_create(
            CategoryTimeLimit(
                category=category,
                condition=t.condition,
                urgent=t.urgent,
                value=t.value,
                unit=t.unit,
                note=t.note,
            )
            for t in spec.time_limits
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_caseevent_append_only"),
        ("gridmap", "0002_component_classes"),
    ]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
