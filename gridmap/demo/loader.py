"""Load the demo district (``fixtures/geo``) into the database: ``demo_load``.

The files are RFC 7946 GeoJSON in WGS-84 (one FeatureCollection per layer) and
``organisation.json`` (departments, teams, users); ``gridmap.demo.generate`` writes them.

Everything is read and checked before anything is written — every problem names the file and
the feature's code — and then written in one transaction, upserting by natural key (``code``,
``username``): loading twice changes nothing (same ids, same values; existing users keep their
password). After the writes, the nesting rule (children within their parents) is checked in SQL
and a violation rolls everything back.
"""

import os
import sys
from datetime import date
from pathlib import Path
from typing import IO

from django.contrib.auth.hashers import make_password
from django.db import DataError, IntegrityError, transaction
from tqdm import tqdm

from cameras.models import Camera
from gridmap.models import (
    Building,
    Community,
    Component,
    ComponentClass,
    ConstructionSite,
    Department,
    District,
    PointOfInterest,
    ResponsibilityZone,
    Road,
    Subdistrict,
    Team,
    UnitGrid,
    User,
    Water,
)
from gridmap.selectors import nesting_violations

from .reader import DemoDataError, DemoFeature, DemoFiles, read_demo_files

__all__ = ["DemoDataError", "demo_load", "demo_password"]

DEFAULT_DEMO_PASSWORD = "gridmap-demo"  # noqa: S105 (the published demo password)
#: The file of each level that ``nesting_violations`` reports.
NESTED_FILES = {
    "subdistrict": "subdistricts.geojson",
    "community": "communities.geojson",
    "grid": "grids.geojson",
}
#: How the summary names each kind of row: like the files, plus departments, teams, users.
COUNT_LABELS = {
    "department": "departments",
    "district": "district",
    "subdistrict": "subdistricts",
    "community": "communities",
    "grid": "grids",
    "team": "teams",
    "user": "users",
    "zone": "zones",
    "road": "roads",
    "building": "buildings",
    "water": "water",
    "poi": "pois",
    "construction_site": "construction_sites",
    "component": "components",
    "camera": "cameras",
}
#: A user's scope: foreign keys named in organisation.json by code.
USER_SCOPES = ["department", "team", "subdistrict", "community"]


def demo_password() -> str:
    """The demo accounts' password: ``GRIDMAP_DEMO_PASSWORD``, default ``gridmap-demo``."""
    return os.environ.get("GRIDMAP_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


# --- Writing -----------------------------------------------------------------------------------


def _upsert(model, objects: list, fields: list[str], unique: str = "code") -> dict[str, int]:
    """INSERT … ON CONFLICT (unique) DO UPDATE SET fields; returns natural key → id."""
    if objects:
        model.objects.bulk_create(
            objects,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=[unique],
            update_fields=fields,
        )
    keys = [getattr(o, unique) for o in objects]
    return dict(model.objects.filter(**{f"{unique}__in": keys}).values_list(unique, "id"))


class _Ids:
    """Natural key → id of each kind of row written so far; resolves references."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[str, int]] = {}

    def __call__(self, kind: str, key, where: str, *, required: bool = False) -> int | None:
        if key is None or key == "":
            if required:
                raise DemoDataError(f"{where}: no {kind} given")
            return None
        try:
            return self.maps[kind][key]
        except KeyError:
            raise DemoDataError(f"{where}: unknown {kind} {key!r}") from None


def _date(value, where: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DemoDataError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _text(props: dict, key: str) -> str:
    return props.get(key) or ""


def _rows(model, features: list[DemoFeature], extra) -> list:
    """Model instances with code, name and geometry, plus ``extra(feature)``'s fields."""
    return [model(code=f.code, name=f.props["name"], geom=f.geom, **extra(f)) for f in features]


def _write(files: DemoFiles, bar: tqdm) -> dict[str, int]:
    layers, org = files.layers, files.organisation
    ids = _Ids()
    counts: dict[str, int] = {}

    def load(kind: str, model, objects: list, fields: list[str], unique: str = "code") -> None:
        bar.set_postfix_str(COUNT_LABELS[kind])
        ids.maps[kind] = _upsert(model, objects, fields, unique)
        counts[COUNT_LABELS[kind]] = len(objects)
        bar.update(1)

    load(
        "department",
        Department,
        [Department(code=d["code"], name=_text(d, "name")) for d in org["departments"]],
        ["name"],
    )
    load("district", District, _rows(District, layers["district"], lambda f: {}), ["name", "geom"])

    def parent(kind: str):
        return lambda f: {f"{kind}_id": ids(kind, f.props.get(kind), f.where, required=True)}

    load(
        "subdistrict",
        Subdistrict,
        _rows(Subdistrict, layers["subdistricts"], parent("district")),
        ["name", "geom", "district"],
    )
    # A community's leader is a user, who is loaded later: it is set at the end.
    load(
        "community",
        Community,
        _rows(Community, layers["communities"], parent("subdistrict")),
        ["name", "geom", "subdistrict"],
    )
    load(
        "grid",
        UnitGrid,
        _rows(
            UnitGrid,
            layers["grids"],
            lambda f: {
                **parent("community")(f),
                "land_use": f.props["land_use"],
                "area_m2": f.geom.area,
            },
        ),
        ["name", "geom", "community", "land_use", "area_m2"],
    )

    teams = []
    for t in org["teams"]:
        where = f"organisation.json: team {t['code']}"
        teams.append(
            Team(
                code=t["code"],
                name=_text(t, "name"),
                kind=t["kind"],
                status=t.get("status") or Team.Status.AVAILABLE,
                department_id=ids("department", t.get("department"), where, required=True),
                base_geom=t["base_geom"],
                position_geom=t["position_geom"],
            )
        )
    # position_at is left alone: the demo's positions carry no time of fix.
    load(
        "team", Team, teams, ["name", "kind", "status", "department", "base_geom", "position_geom"]
    )

    password = make_password(demo_password())  # hashed once: new demo accounts share it
    users = []
    for u in org["users"]:
        where = f"organisation.json: user {u['username']}"
        admin = u["role"] == User.Role.ADMIN
        users.append(
            User(
                username=u["username"],
                password=password,
                role=u["role"],
                first_name=_text(u, "first_name"),
                last_name=_text(u, "last_name"),
                phone=_text(u, "phone"),
                is_staff=admin,
                is_superuser=admin,
                is_active=True,
                **{f"{k}_id": ids(k, u.get(k), where) for k in USER_SCOPES},
            )
        )
    # The password is not updated: an existing account keeps its own.
    load(
        "user",
        User,
        users,
        [
            "role",
            "first_name",
            "last_name",
            "phone",
            "is_staff",
            "is_superuser",
            "is_active",
            *USER_SCOPES,
        ],
        unique="username",
    )
    Community.objects.bulk_update(
        [
            Community(
                id=ids.maps["community"][f.code],
                leader_id=ids("user", f.props.get("leader"), f.where),
            )
            for f in layers["communities"]
        ],
        ["leader"],
    )

    load(
        "zone",
        ResponsibilityZone,
        _rows(
            ResponsibilityZone,
            layers["zones"],
            lambda f: {
                "kind": f.props["kind"],
                "holder": _text(f.props, "holder"),
                "contact": _text(f.props, "contact"),
                "duties": _text(f.props, "duties"),
                "community_id": ids("community", f.props.get("community"), f.where),
                "responsible_user_id": ids("user", f.props.get("responsible_user"), f.where),
            },
        ),
        ["name", "geom", "kind", "holder", "contact", "duties", "community", "responsible_user"],
    )
    _set_jurisdictions(org["teams"], ids, layers["zones"])

    load(
        "road",
        Road,
        _rows(
            Road,
            layers["roads"],
            lambda f: {
                "road_class": f.props["road_class"],
                "oneway": bool(f.props.get("oneway")),
                "bridge": bool(f.props.get("bridge")),
                "speed_kmh": f.props.get("speed_kmh"),
            },
        ),
        ["name", "geom", "road_class", "oneway", "bridge", "speed_kmh"],
    )
    load(
        "building",
        Building,
        _rows(
            Building,
            layers["buildings"],
            lambda f: {k: f.props.get(k) for k in ("use", "height_m", "floors")},
        ),
        ["name", "geom", "use", "height_m", "floors"],
    )
    load(
        "water",
        Water,
        _rows(Water, layers["water"], lambda f: {"kind": f.props["kind"]}),
        ["name", "geom", "kind"],
    )
    load(
        "poi",
        PointOfInterest,
        _rows(
            PointOfInterest,
            layers["pois"],
            lambda f: {"kind": f.props["kind"], "address": _text(f.props, "address")},
        ),
        ["name", "geom", "kind", "address"],
    )
    load(
        "construction_site",
        ConstructionSite,
        _rows(
            ConstructionSite,
            layers["construction_sites"],
            lambda f: {
                "permit_no": _text(f.props, "permit_no"),
                "permit_from": _date(f.props.get("permit_from"), f.where),
                "permit_to": _date(f.props.get("permit_to"), f.where),
                "contractor": _text(f.props, "contractor"),
            },
        ),
        ["name", "geom", "permit_no", "permit_from", "permit_to", "contractor"],
    )
    ids.maps["component class"] = {c.code: c.id for c in ComponentClass.objects.all()}
    load(
        "component",
        Component,
        _rows(
            Component,
            layers["components"],
            lambda f: {
                "component_class_id": ids(
                    "component class", f.props.get("class"), f.where, required=True
                ),
                "owner_department_id": ids("department", f.props.get("owner_department"), f.where),
                "owner_name": _text(f.props, "owner_name"),
                "condition": f.props.get("condition") or Component.Condition.GOOD,
            },
        ),
        ["name", "geom", "component_class", "owner_department", "owner_name", "condition"],
    )
    load("camera", Camera, _cameras(layers["cameras"], ids), CAMERA_FIELDS)
    return counts


#: What the demo file sets on a camera; its status and heartbeat are left alone.
CAMERA_FIELDS = [
    "name", "geom", "heading_deg", "fov_deg", "range_m", "ptz", "mount_height_m",
    "stream_url", "snapshot_url", "owner", "device_user",
]  # fmt: skip


def _cameras(features: list[DemoFeature], ids: _Ids) -> list[Camera]:
    """Camera rows from cameras.geojson (``gridmap.demo.cameras`` draws them), each bound to
    the device account it names (or to none); impossible values name the feature."""
    rows = []
    for f in features:
        p = f.props
        try:
            values = {k: float(p[k]) for k in ("heading_deg", "fov_deg", "range_m")}
            values["mount_height_m"] = float(p["mount_height_m"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DemoDataError(f"{f.where}: missing or non-numeric {exc}") from None
        if not 0 <= values["heading_deg"] < 360:
            raise DemoDataError(f"{f.where}: heading_deg {p['heading_deg']} is outside 0–360")
        if not 0 < values["fov_deg"] <= 360 or values["range_m"] <= 0:
            raise DemoDataError(f"{f.where}: impossible fov_deg or range_m")
        rows.append(
            Camera(
                code=f.code,
                name=p["name"],
                geom=f.geom,
                ptz=bool(p.get("ptz")),
                stream_url=_text(p, "stream_url"),
                snapshot_url=_text(p, "snapshot_url"),
                owner=_text(p, "owner"),
                device_user_id=ids("user", p.get("device"), f.where),
                **values,
            )
        )
    return rows


def _set_jurisdictions(teams: list[dict], ids: _Ids, zones: list[DemoFeature]) -> None:
    """Make each team's jurisdiction zones exactly the listed ones, touching only the links
    that change (so that a second load leaves the link rows, and their ids, alone)."""
    kinds = {f.code: f.props["kind"] for f in zones}
    wanted = set()
    for t in teams:
        where = f"organisation.json: team {t['code']}"
        for zone in t.get("jurisdictions") or []:
            zone_id = ids("zone", zone, where, required=True)
            if kinds[zone] != ResponsibilityZone.Kind.JURISDICTION:
                raise DemoDataError(f"{where}: zone {zone} is a {kinds[zone]} zone")
            wanted.add((ids.maps["team"][t["code"]], zone_id))
    through = Team.jurisdictions.through
    links = through.objects.filter(team_id__in=ids.maps["team"].values())
    existing = set(links.values_list("team_id", "responsibilityzone_id"))
    for team_id, zone_id in sorted(existing - wanted):
        links.filter(team_id=team_id, responsibilityzone_id=zone_id).delete()
    through.objects.bulk_create(
        [through(team_id=t, responsibilityzone_id=z) for t, z in sorted(wanted - existing)]
    )


def demo_load(*, directory: Path, stdout: IO | None = None) -> dict[str, int]:
    """Load the demo district from ``directory`` (GeoJSON in WGS-84 and organisation.json).

    Geometry is transformed to the storage CRS (``GRIDMAP_SRID``); Polygons become
    MultiPolygons where the model wants them. All-or-nothing and idempotent: rows are upserted
    by code / username in one transaction, and a nesting violation (a child sticking out of its
    parent) rolls the whole load back. Returns the number of rows loaded per layer. Raises
    ``DemoDataError`` naming the file and feature on any problem.
    """
    stream = stdout if stdout is not None else sys.stderr
    progress = bool(getattr(stream, "isatty", lambda: False)())
    files = read_demo_files(Path(directory), progress=progress, stream=stream)
    with transaction.atomic():
        bar = tqdm(
            total=len(COUNT_LABELS),
            desc="writing",
            unit=" tables",
            disable=not progress,
            file=stream,
            leave=False,
        )
        try:
            with bar:
                counts = _write(files, bar)
        except (DataError, IntegrityError) as exc:
            # What the checks above let through (a name longer than its column, say).
            raise DemoDataError(f"the database refused the data: {exc}") from exc
        problems = nesting_violations()
        if problems:
            shown = "; ".join(
                f"{NESTED_FILES[p['level']]}: feature {p['code']} sticks out of its parent "
                f"{p['parent_code']} by {p['outside_m2']:.1f} m²"
                for p in problems[:5]
            )
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise DemoDataError(f"nesting violated: {shown}{more}")
        # The shipped case categories name their responsible departments (责任单位) by name;
        # link the ones still without a department to the demo's departments.
        from cases.taxonomy import categories_link_departments

        counts["categories linked"] = categories_link_departments()
    return counts
