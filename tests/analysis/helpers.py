"""A lattice district for analysis tests, and cases put straight into it.

The district is a square of ``SIDE`` × ``SIDE`` unit grids of ``CELL`` metres (local metres of
tests/factories.py, EPSG:4547 around ORIGIN), in two communities: west (columns 0-4) and east
(columns 5-9). Grid (row, col) has row 0 at the south; its code is the community's code and a
sequence number, so ``LATTICE_ORDER`` maps the codes' order to lattice positions.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from cases.models import Case
from tests.factories import (
    CategoryFactory,
    CommunityFactory,
    DistrictFactory,
    SubdistrictFactory,
    UnitGridFactory,
    point,
    rect,
)

SIDE = 10
CELL = 100.0
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI)  # a Monday


def lattice_district() -> dict:
    """The district, its two communities and the grids by (row, col); two categories."""
    district = DistrictFactory(geom=rect(0, 0, SIDE * CELL, SIDE * CELL))
    subdistrict = SubdistrictFactory(district=district, geom=district.geom)
    half = SIDE // 2
    west = CommunityFactory(
        subdistrict=subdistrict,
        code="410199001001",
        name="西社区",
        geom=rect(0, 0, half * CELL, SIDE * CELL),
    )
    east = CommunityFactory(
        subdistrict=subdistrict,
        code="410199001002",
        name="东社区",
        geom=rect(half * CELL, 0, SIDE * CELL, SIDE * CELL),
    )
    grids = {}
    for community, cols in ((west, range(half)), (east, range(half, SIDE))):
        seq = 0
        for row in range(SIDE):
            for col in cols:
                seq += 1
                grids[row, col] = UnitGridFactory(
                    community=community,
                    code=f"{community.code}{seq:03d}",
                    geom=rect(col * CELL, row * CELL, (col + 1) * CELL, (row + 1) * CELL),
                )
    vending = CategoryFactory(code="E9801", minor_name="测试占道")
    litter = CategoryFactory(code="E9802", minor_name="测试垃圾")
    return {
        "district": district, "west": west, "east": east, "grids": grids,
        "vending": vending, "litter": litter,
    }  # fmt: skip


def lattice_order(grids: dict) -> list[tuple[int, int]]:
    """(row, col) of each grid in the order of their codes (the order of analysis cells)."""
    return [rc for rc, g in sorted(grids.items(), key=lambda item: item[1].code)]


def english_client():
    """An API client whose requests ask for English (the platform speaks Chinese first): the
    tests read the messages' English source strings."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client


_serial = iter(range(1, 10**9))


def cases_add(
    lattice: dict,
    xy: np.ndarray,
    *,
    category=None,
    source: str = "inspector",
    stage: str = "closed",
    reported_at: list[datetime] | None = None,
) -> list[Case]:
    """Cases at local points ``xy`` (metres), each in the grid and community it falls in."""
    category = category or lattice["vending"]
    rows = []
    for k, (x, y) in enumerate(xy):
        row, col = min(int(y // CELL), SIDE - 1), min(int(x // CELL), SIDE - 1)
        grid = lattice["grids"][row, col]
        n = next(_serial)
        at = reported_at[k] if reported_at is not None else START + timedelta(hours=k % 2000)
        rows.append(
            Case(
                number=f"T{n:09d}",
                tracking=f"TRK{n:09d}",
                source=source,
                category=category,
                stage=stage,
                geom=point(float(x), float(y)),
                reported_at=at,
                subdistrict=grid.community.subdistrict,
                community=grid.community,
                grid=grid,
                closed_at=at + timedelta(hours=3) if stage == "closed" else None,
                address="测试地址",
                description="测试描述，含中文",
            )
        )
    return Case.objects.bulk_create(rows)
