"""City components (部件): class from the standard code or a class column, owner unit, duplicates.

A component code has 16 digits by default — 6 administrative + 2 major class + 2 minor class +
6 serial (``GRIDMAP_COMPONENT_CODE_LAYOUT``), e.g. ``4101710101000001`` for a water manhole cover
(01 公用设施 / 01 上水井盖). The class comes from the code's class digits, or from a class column
holding a 4-digit class code or the class's name (上水井盖); when both are given they must agree.
The owner column names one of our departments (code or name) or, failing that, is kept as the
owner unit's name (供电公司). Two components of the same class within ``DUPLICATE_RADIUS_M`` of
each other are reported as probable duplicates.
"""

import numpy as np
import shapely
from django.conf import settings

from ..models import Component, ComponentClass, Department

DUPLICATE_RADIUS_M = 1.0


def _layout() -> tuple[int, int, int, int]:
    return tuple(settings.GRIDMAP_COMPONENT_CODE_LAYOUT)


def class_digits(code: str) -> str | None:
    """The 4 class digits (major + minor) of a component code, or None if it is malformed."""
    admin, major, minor, serial = _layout()
    if not (code.isdigit() and len(code) == admin + major + minor + serial):
        return None
    return code[admin : admin + major + minor]


def resolve_components(importer) -> None:
    """Give each record its class and owner; report malformed codes and probable duplicates."""
    report, records = importer.report, importer.records
    classes = {c.code: c for c in ComponentClass.objects.all()}
    by_name = {c.minor_name: c for c in classes.values()}
    departments = {d.code: d for d in Department.objects.all()}
    departments.update({d.name: d for d in departments.values()})
    layout = "+".join(map(str, _layout()))
    for rec in records:
        digits = class_digits(rec.code)
        if digits is None:
            report.error(
                f"a component code has {sum(_layout())} digits (layout {layout}); got {rec.code!r}",
                fid=rec.fid,
                code=rec.code,
            )
            continue
        given = str(rec.attrs.pop("class", "") or "").strip()
        by_code = classes.get(digits)
        if given:
            named = classes.get(given) or by_name.get(given)
            if named is None:
                report.error(
                    f"unknown component class {given!r} (e.g. 0101 or 上水井盖)",
                    fid=rec.fid,
                    code=rec.code,
                )
                continue
            if by_code is not None and named.pk != by_code.pk:
                report.error(
                    f"the class {given!r} ({named.code}) disagrees with the code's class digits "
                    f"{digits} ({by_code.minor_name})",
                    fid=rec.fid,
                    code=rec.code,
                )
                continue
            by_code = named
        if by_code is None:
            report.error(
                f"no component class {digits} in the standard classes", fid=rec.fid, code=rec.code
            )
            continue
        rec.attrs["component_class_id"] = by_code.pk
        owner = str(rec.attrs.pop("owner", "") or "").strip()
        department = departments.get(owner)
        rec.attrs["owner_department_id"] = department.pk if department else None
        rec.attrs["owner_name"] = "" if department else owner
    _report_duplicates(importer)


def _report_duplicates(importer) -> None:
    records = [r for r in importer.records if "component_class_id" in r.attrs]
    if not records:
        return
    in_file = {r.code for r in records}
    existing = [
        (c.code, c.component_class_id, shapely.from_wkb(bytes(c.geom.wkb)))
        for c in Component.objects.exclude(code__in=in_file).only("code", "component_class", "geom")
    ]
    items = [(r.code, r.attrs["component_class_id"], r.geom, r) for r in records] + [
        (code, cls, geom, None) for code, cls, geom in existing
    ]
    geoms = np.array([item[2] for item in items], dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=DUPLICATE_RADIUS_M)
    for i, j in zip(left, right, strict=True):
        a, b = items[i], items[j]
        if i >= j or a[1] != b[1] or (a[3] is None and b[3] is None):
            continue
        rec = a[3] or b[3]
        other = b[0] if rec is a[3] else a[0]
        importer.report.warning(
            f"probable duplicate of component {other}: same class within {DUPLICATE_RADIUS_M:g} m",
            fid=rec.fid,
            code=rec.code,
            **importer.locator.where(rec.geom),
        )
