"""Responsibility zones (责任区): frontage (门前五包), subcontract (分包), team jurisdictions and
patrol zones (监督员巡查区)."""

import shapely
from shapely.ops import unary_union

from . import plan
from .buildings import Shop
from .features import Feature


def zones(
    demo,
    shops: list[Shop],
    communities,
    grids_by_community,
    leads,
    inspectors,
    team_plans,
    community_of,
) -> None:
    zones = demo.layers["zones"]
    community_names = {plan.SUBDISTRICT[0] + c[0]: c[1] for c in plan.COMMUNITIES}
    ordered = sorted(shops, key=lambda s: s.building.code)
    for n, shop in enumerate(ordered, start=1):
        zones.append(
            Feature(
                shop.frontage,
                {
                    "code": f"FZ{n:05d}",
                    "name": f"{shop.name}门前五包责任区",
                    "kind": "frontage",
                    "community": community_of(shop.frontage),
                    "holder": shop.name,
                    "contact": f"1380000{n:04d}",
                    "duties": plan.DUTIES_FRONTAGE,
                    "responsible_user": None,
                },
            )
        )
    for n, (code, lead) in enumerate(sorted(leads.items()), start=1):
        cname = community_names[code]
        zones.append(
            Feature(
                communities[code],
                {
                    "code": f"SC{n:03d}",
                    "name": f"{cname}分包责任区",
                    "kind": "subcontract",
                    "community": code,
                    "holder": f"{lead['first_name']}（办事处分包领导）",
                    "contact": lead["phone"],
                    "duties": f"分包{cname}：城市管理、环境卫生、安全生产、信访稳定",
                    "responsible_user": lead["username"],
                },
            )
        )
    for t in team_plans:
        geom = unary_union([communities[c] for c in t.communities])
        only = t.communities[0] if len(t.communities) == 1 else None
        zones.append(
            Feature(
                geom,
                {
                    "code": f"JZ{t.code}",
                    "name": f"{t.name}辖区",
                    "kind": "jurisdiction",
                    "community": only,
                    "holder": t.name,
                    "contact": "",
                    "duties": "",
                    "responsible_user": None,
                },
            )
        )
    # Patrol zones: each community's grids in two halves, north (lower sequence) and south.
    n = 0
    for code in sorted(grids_by_community):
        grids = grids_by_community[code]
        half = (len(grids) + 1) // 2
        for part, label in ((grids[:half], "北片"), (grids[half:], "南片")):
            inspector = inspectors[n]
            n += 1
            geom = shapely.union_all([g.geom for g in part], grid_size=1e-6)
            zones.append(
                Feature(
                    geom,
                    {
                        "code": f"PZ{n:03d}",
                        "name": f"{community_names[code]}{label}巡查区",
                        "kind": "patrol",
                        "community": code,
                        "holder": inspector["first_name"],
                        "contact": inspector["phone"],
                        "duties": "巡查发现、核实、核查",
                        "responsible_user": inspector["username"],
                    },
                )
            )
