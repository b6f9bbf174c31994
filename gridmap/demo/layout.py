"""Block interiors by zoning: compounds, villages, campuses, parks, construction sites.

Street shops come first (``Builder.street_shops``) except on construction sites, which are
reserved before anything else; then each block is filled according to its zoning letter
(``plan.ZONING``), with the named facilities (schools, markets, hospitals, offices) that become
points of interest.
"""

import math
from datetime import date

import numpy as np
import shapely

from . import plan, streets
from .buildings import Builder, BuildingRec


def _polygons(geom) -> list[shapely.Polygon]:
    if isinstance(geom, shapely.Polygon):
        return [] if geom.is_empty else [geom]
    return [
        g for g in getattr(geom, "geoms", []) if isinstance(g, shapely.Polygon) and not g.is_empty
    ]


def construction_sites(builder: Builder, blocks: list[streets.Block]) -> list[tuple]:
    """在建工地: two whole blocks and the eastern part of a commercial block, reserved before
    anything else is placed."""
    result = []
    rng = np.random.default_rng(plan.SEED + 5)
    targets = []
    for b in blocks:
        if b.zoning in ("KR", "KC"):
            targets.append((b, None, "住宅" if b.zoning == "KR" else "商业综合体"))
        elif (b.row, b.column) == (0, 2):
            targets.append((b, 0.55, "写字楼"))
    for n, (block, east_part, what) in enumerate(targets):
        area = block.buildable
        if east_part is not None:
            minx, miny, maxx, maxy = area.bounds
            area = area.intersection(
                shapely.box(minx + (maxx - minx) * east_part, miny, maxx, maxy)
            )
        area = area.buffer(-2.0, quad_segs=2).simplify(0.5)
        area = max(_polygons(area), key=lambda p: p.area)
        builder.reserve(area)
        start = date(2025, int(rng.integers(1, 10)), int(rng.integers(1, 28)))
        end = date(start.year + 2, start.month, start.day)
        props = {
            "name": f"{plan.COMPOUND_PREFIXES[(n * 7 + 3) % 30]}{what}项目工地",
            "permit_no": f"4101712025{int(rng.integers(100, 1000)):05d}",
            "permit_from": start.isoformat(),
            "permit_to": end.isoformat(),
            "contractor": plan.CONTRACTORS[n % len(plan.CONTRACTORS)],
        }
        result.append((area, props))
    return result


SCHOOLS = {
    (1, 2): ("明湖小学", "primary"),
    (2, 6): ("瑞锦小学", "primary"),
    (5, 1): ("滨河小学", "primary"),
    (6, 3): ("经开实验中学", "middle"),
}
MARKETS = {
    (2, 1): "锦荣农贸市场",
    (6, 2): "康宁农贸市场",
    (7, 4): "祥和农贸市场",
    (4, 1): "滨河农贸市场",
}
KINDERGARTENS = {"410171001006": "康宁幼儿园", "410171001007": "祥和幼儿园"}
PARKS = {
    (2, 3): ("明湖公园", True),
    (3, 0): ("潮河滨水公园", False),
    (4, 3): ("潮河湿地公园", True),
}


def block_interiors(builder: Builder, blocks: list[streets.Block], community_at) -> None:
    rng = np.random.default_rng(plan.SEED + 2)
    prefixes = list(plan.COMPOUND_PREFIXES)
    order = [int(i) for i in rng.permutation(len(prefixes))]
    compounds = 0
    village = 0
    first_in_community: set[str] = set()
    community_names = {plan.SUBDISTRICT[0] + c[0]: c[1] for c in plan.COMMUNITIES}
    for block in blocks:
        z = block.zoning
        cell = (block.row, block.column)
        community = community_at(block.face.representative_point())
        if z in ("R", "T", "M"):
            name = prefixes[order[compounds % len(order)]] + str(rng.choice(plan.COMPOUND_SUFFIXES))
            compounds += 1
            extras = []
            if community not in first_in_community:
                first_in_community.add(community)
                cname = community_names[community]
                extras.append((30.0, 20.0, "public", 3, f"{cname}党群服务中心", "government"))
                if community in KINDERGARTENS:
                    extras.append((45.0, 30.0, "public", 3, KINDERGARTENS[community], "school"))
                if community == "410171001006":
                    extras.append((50.0, 20.0, "public", 8, "康宁医院", "hospital"))
            if z == "M":
                extras.append((60.0, 40.0, "commercial", 2, MARKETS[cell], "market"))
            region = block.buildable.buffer(-22.0, quad_segs=2)
            for w, h, use, floors, label, kind in extras:
                rect = builder.scatter(region, w, h, 10.0, tries=300)
                if rect is None:
                    raise AssertionError(f"no room for {label} in block {block.index}")
                builder.add(rect, use, floors, round(floors * 3.8 + 1.0, 1), label)
                builder.facility(label, kind, rect)
            style = "towers" if z == "T" else ("walkups" if rng.random() < 0.35 else "slabs")
            builder.residential(block, style=style, name=name)
        elif z == "V":
            name = plan.VILLAGES[village % len(plan.VILLAGES)]
            village += 1
            if cell in MARKETS:
                region = block.buildable.buffer(-18.0, quad_segs=2)
                rect = builder.scatter(region, 50.0, 35.0, 6.0, tries=300)
                builder.add(rect, "commercial", 1, 6.0, MARKETS[cell])
                builder.facility(MARKETS[cell], "market", rect)
            builder.village(block, name)
        elif z == "C":
            name = prefixes[order[compounds % len(order)]]
            compounds += 1
            builder.commercial(block, name + "商务")
        elif z == "I":
            builder.industrial(block, f"经开{block.index:02d}号地块")
        elif z == "S":
            school, level = SCHOOLS[cell]
            items = [
                (60.0, 16.0, "public", 5, 3.8, f"{school}教学楼", True),
                (50.0, 16.0, "public", 4, 3.8, f"{school}综合楼", False),
                (40.0, 14.0, "public", 4, 3.6, f"{school}行政楼", False),
                (35.0, 22.0, "public", 2, 4.5, f"{school}食堂", False),
                (45.0, 28.0, "public", 2, 7.0, f"{school}体育馆", False),
            ]
            if level == "middle":
                items.append((60.0, 14.0, "residential", 6, 3.2, f"{school}宿舍楼", False))
            placed = builder.campus(block, items, reserved=[(110.0, 70.0)])
            builder.facility(school, "school", placed[0])
        elif z == "H":
            items = [
                (65.0, 22.0, "public", 18, 3.8, "经开区人民医院住院楼", False),
                (80.0, 20.0, "public", 5, 4.2, "经开区人民医院门诊楼", True),
                (35.0, 20.0, "public", 3, 4.2, "经开区人民医院急诊楼", False),
                (30.0, 15.0, "office", 5, 3.6, "经开区人民医院行政楼", False),
                (20.0, 15.0, "other", 2, 4.0, "经开区人民医院后勤楼", False),
            ]
            placed = builder.campus(block, items, reserved=[(40.0, 30.0)])
            builder.facility("经开区人民医院", "hospital", placed[1])
        elif z == "G":
            items = [
                (60.0, 18.0, "public", 6, 3.8, "明湖街道办事处", False),
                (40.0, 15.0, "public", 4, 3.8, "明湖派出所", False),
                (35.0, 20.0, "public", 5, 3.8, "明湖街道城市管理指挥中心", False),
                (40.0, 18.0, "public", 4, 3.8, "明湖社区卫生服务中心", False),
            ]
            placed = builder.campus(block, items, reserved=[(60.0, 40.0)])
            for (*_, label, _w), rect in zip(items, placed, strict=True):
                kind = "hospital" if label.endswith("卫生服务中心") else "government"
                builder.facility(label, kind, rect)
        elif z == "P" and cell in PARKS and (block.face.area > 20_000):
            name, teahouse = PARKS[cell]
            builder.park(block, name, teahouse)
            builder.facility(name, "park", block.face.representative_point())
    for name, what in (("market", 4), ("school", 6), ("hospital", 3)):
        found = sum(1 for f in builder.layout.facilities if f.kind == name)
        assert found == what, (name, found)


def number_buildings(buildings: list[BuildingRec]) -> None:
    """Codes B00001… north → south in 100 m bands, west → east within a band."""

    def key(b: BuildingRec):
        c = b.geom.centroid
        return (-math.floor(c.y / 100.0), round(c.x, 3), round(c.y, 3))

    buildings.sort(key=key)
    for n, b in enumerate(buildings, start=1):
        b.code = f"B{n:05d}"
