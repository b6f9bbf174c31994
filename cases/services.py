"""Writes of cases: intake from every source, evidence, duplicates.

Intake (``case_report``) is on the hot path of every camera detection, patrol report and phone
call, so it does its work in a handful of indexed queries inside one transaction: the category,
the geocoder (one prepared statement), the nearest matching component and road (KNN with the
``<->`` operator), the duplicate check, then the inserts. Follow-up work is enqueued with
``transaction.on_commit`` only (and is redone from the database if Redis is down).
"""

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from gridmap.crs import parse_srs, to_wgs84
from gridmap.models import STORAGE_SRID, WGS84
from gridmap.selectors import geocode_point

from . import notify, workflow
from .clocks import clocks_new
from .evidence import CheckedFile, check_upload, thumbnail
from .models import Campaign, Case, CaseEvent, Category, Evidence
from .responsibility import responsibility
from .selectors import category_by_code

#: How far in the future a reported time may lie (clock skew of phones and cameras).
FUTURE_SKEW = timedelta(minutes=2)
#: A component (部件) case is about the nearest component of its class within this radius.
COMPONENT_RADIUS_M = 30.0
#: The road a case lies on decides main road vs back street (for the time limit).
ROAD_RADIUS_M = 40.0
MAIN_ROAD_CLASSES = ("expressway", "primary", "secondary")
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


class IntakeError(Exception):
    """A report that cannot be taken, with the field it concerns.

    ``status`` 400: malformed or impossible input (a time in the future, a bad file);
    422: well-formed but cannot be done (unknown category, outside the district).
    """

    def __init__(self, field: str, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Petitioner:
    """诉求人 of a hotline case."""

    name: str = ""
    phone: str = ""
    wants_reply: bool = False


def _new_tracking() -> str:
    return "GM" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def _to_wgs84(lon: float, lat: float, srs) -> tuple[float, float]:
    """Input coordinates in ``srs`` (EPSG, gcj02, bd09) → WGS-84."""
    srs = parse_srs(srs)
    if srs in ("gcj02", "bd09"):
        x, y = to_wgs84(lon, lat, srs)
        return float(x), float(y)
    if srs == WGS84:
        return lon, lat
    # PostGIS rather than pyproj: pyproj rebuilds its transformer in every new thread (~40 ms).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), %s), "
            "4326) AS p",
            [lon, lat, srs],
        )
        return cursor.fetchone()


_NEARBY_SQL = f"""
WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {WGS84}),
                               {STORAGE_SRID}) AS pt)
SELECT
  (SELECT json_build_array(c.id, c.owner_department_id) FROM gridmap_component c
    WHERE %(component_class)s::bigint IS NOT NULL AND c.component_class_id = %(component_class)s
      AND ST_DWithin(c.geom, p.pt, {COMPONENT_RADIUS_M}) ORDER BY c.geom <-> p.pt LIMIT 1),
  (SELECT r.road_class FROM gridmap_road r WHERE ST_DWithin(r.geom, p.pt, {ROAD_RADIUS_M})
    ORDER BY r.geom <-> p.pt LIMIT 1),
  (SELECT k.id FROM cases_case k
    WHERE k.category_id = %(category)s AND k.stage NOT IN ('closed', 'rejected', 'void', 'merged')
      AND k.reported_at >= %(since)s AND ST_DWithin(k.geom, p.pt, %(radius)s)
    ORDER BY k.geom <-> p.pt LIMIT 1)
FROM p
"""


def _nearby(*, lon: float, lat: float, category: Category, reported_at: datetime) -> tuple:
    """(component id, its owner department id) or None; nearest road class; probable duplicate.

    KNN with ``<->`` inside ``ST_DWithin``: the index finds the nearest, not a sort of all.
    """
    params = {
        "lon": lon,
        "lat": lat,
        "component_class": category.component_class_id,
        "category": category.pk,
        "since": reported_at - timedelta(hours=category.duplicate_window_h),
        "radius": category.duplicate_radius_m,
    }
    # A prepared statement (server-side binding), as for the geocoder: planned once per
    # connection instead of on every report.
    component, road_class, duplicate = (
        psycopg.Cursor(connection.connection).execute(_NEARBY_SQL, params, prepare=True).fetchone()
    )
    if isinstance(component, str):
        component = json.loads(component)
    return component, road_class, duplicate


def case_report(
    *,
    source: str,
    category_code: str,
    lon: float,
    lat: float,
    srs=None,
    description: str = "",
    address: str = "",
    reported_at: datetime | None = None,
    external_id: str = "",
    reporter=None,
    camera_code: str = "",
    petitioner: Petitioner | None = None,
    contact_email: str = "",
    contact_phone: str = "",
    campaign_code: str = "",
    urgent: bool = False,
    uploads: Sequence = (),
    checked_files: Sequence[CheckedFile] = (),
    self_disposed: bool = False,
    before: Sequence[CheckedFile] = (),
    after: Sequence[CheckedFile] = (),
) -> Case:
    """Take a report: geocode it, find its department and probable duplicate, store it.

    ``lon``/``lat`` in ``srs`` (default WGS-84; EPSG code, ``gcj02`` or ``bd09``). The case
    starts in ``reported`` with one ``report`` event and its filing clock; the files (uploads,
    checked before anything is written) become its evidence.

    ``self_disposed`` (自处理, source ``self``): a problem the reporter already fixed on the spot;
    ``before`` and ``after`` evidence are required and the case goes straight to ``handled``,
    waiting for the shift leader's verification.

    Raises ``IntakeError`` naming the field at fault; nothing is written then.
    """
    now = timezone.now()
    reported_at = reported_at or now
    if reported_at > now + FUTURE_SKEW:
        raise IntakeError(
            "reported_at",
            _("reported_at %(at)s lies in the future.") % {"at": reported_at.isoformat()},
            status=400,
        )
    category = category_by_code(category_code)
    if category is None:
        raise IntakeError("category", _("Unknown category %(code)r.") % {"code": category_code})
    campaign = None
    if campaign_code:
        campaign = Campaign.objects.filter(code=campaign_code).first()
        if campaign is None:
            raise IntakeError("campaign", _("Unknown campaign %(code)r.") % {"code": campaign_code})
    try:
        lon, lat = _to_wgs84(lon, lat, srs)
    except ValueError as exc:
        raise IntakeError("srs", str(exc), status=400) from exc
    place = geocode_point(lon=lon, lat=lat)
    if not place.inside:
        message = _("The location (lon %(lon).6f, lat %(lat).6f) is outside the district.") % {
            "lon": lon,
            "lat": lat,
        }
        if -90 <= lon <= 90 and geocode_point(lon=lat, lat=lon).inside:
            message += " " + _("It would be inside with lon and lat swapped.")
        raise IntakeError("location", message)
    if external_id:
        earlier = Case.objects.filter(source=source, external_id=external_id).first()
        if earlier is not None:
            raise IntakeError(
                "external_id",
                _("%(source)s case %(id)s was already reported as case %(number)s.")
                % {"source": source, "id": external_id, "number": earlier.number},
                status=409,
            )
    files = list(checked_files)
    try:
        files += [check_upload(upload) for upload in uploads]
    except ValueError as exc:
        raise IntakeError("files", str(exc), status=400) from exc
    if self_disposed:
        if source != Case.Source.SELF:
            raise IntakeError("source", _("A self-disposed case has source 'self'."), status=400)
        if not before or not after:
            raise IntakeError(
                "files",
                _("A self-disposed case needs evidence from before and after the fix."),
                status=400,
            )
    elif source == Case.Source.SELF:
        raise IntakeError("source", _("Source 'self' is for self-disposed cases."), status=400)

    component, road_class, duplicate_id = _nearby(
        lon=lon, lat=lat, category=category, reported_at=reported_at
    )
    component_id, owner_department_id = component if component else (None, None)
    department_id = responsibility(
        category=category,
        community_id=place.community.id if place.community else None,
        component_owner_id=owner_department_id,
    ).department_id
    if road_class is None:
        condition = "any"
    else:
        condition = "main_road" if road_class in MAIN_ROAD_CLASSES else "back_street"
    petitioner = petitioner or Petitioner()
    ids = _area_ids(place)

    stage = Case.Stage.HANDLED if self_disposed else Case.Stage.REPORTED
    case = Case(
        tracking=_new_tracking(),
        source=source,
        category=category,
        stage=stage,
        urgent=urgent,
        condition=condition,
        description=description,
        address=address,
        geom=Point(lon, lat, srid=WGS84),
        reported_at=reported_at,
        created_at=now,
        reporter=reporter,
        camera_code=camera_code,
        external_id=external_id,
        petitioner_name=petitioner.name,
        petitioner_phone=petitioner.phone,
        petitioner_wants_reply=petitioner.wants_reply,
        contact_email=contact_email,
        contact_phone=contact_phone,
        campaign=campaign,
        subdistrict_id=ids["subdistrict"],
        community_id=ids["community"],
        grid_id=ids["grid"],
        component_id=component_id,
        department_id=department_id,
        duplicate_of_id=duplicate_id,
    )
    event = CaseEvent(
        kind="report",
        actor=reporter,
        at=reported_at,
        from_stage="",
        to_stage=stage,
        note=description[:500],
        data={
            "source": source,
            **({"duplicate_of": duplicate_id} if duplicate_id else {}),
            **({"self_disposed": True} if self_disposed else {}),
            # 门前五包: who answers for the spot, on the record.
            **(
                {"frontage": [[z.code, z.holder] for z in place.zones if z.kind == "frontage"]}
                if any(z.kind == "frontage" for z in place.zones)
                else {}
            ),
        },
    )
    clocks = clocks_new(
        case,
        workflow.SELF_DISPOSAL_STARTS if self_disposed else workflow.REPORT_STARTS,
        at=reported_at,
    )
    with WrittenFiles() as written, transaction.atomic():
        _insert_report(case, event, clocks, zone_ids=ids["zones"])
        case.stored_evidence = []
        for phase, batch in (("report", files), ("before", before), ("after", after)):
            case.stored_evidence += evidence_store(
                case=case, event=event, files=batch, phase=phase, user=reporter, written=written
            )
        if any(zone.kind == "frontage" for zone in place.zones):
            _notify_frontage_holders(case)
        # The console shows the new case at once (after the commit; never fails the report).
        notify.publish(
            notify.CONSOLE_CHANNEL,
            {"type": "case", "id": case.pk, "stage": case.stage, "event": "report"},
        )
    case.address_found = place
    return case


# The report's rows in one round trip: the case, its zone links, its ``report`` event and its
# first clock, as one prepared statement. Written with the ORM these were six statements (each
# compiled in Python and planned by PostgreSQL anew), which made intake cost three times a
# trivial request; this is the hot path of every camera detection and phone call. The column
# lists must follow the models: tests/cases/test_intake.py checks that they do.
CASE_COLUMNS = (
    "id", "number", "tracking", "source", "category_id", "stage", "urgent", "condition",
    "description", "address", "geom", "reported_at", "created_at", "reporter_id", "camera_code",
    "external_id", "petitioner_name", "petitioner_phone", "petitioner_wants_reply",
    "contact_email", "contact_phone", "campaign_id", "subdistrict_id", "community_id", "grid_id",
    "component_id", "department_id", "team_id", "duplicate_of_id", "merged_into_id",
    "verifier_id", "verified_at", "suspended_at", "closed_at", "historical",
)  # fmt: skip
EVENT_COLUMNS = (
    "case_id", "kind", "actor_id", "at", "from_stage", "to_stage", "geom", "note", "data",
    "idempotency_key",
)  # fmt: skip
CLOCK_COLUMNS = (
    "case_id", "kind", "started_at", "due_at", "limit_value", "limit_unit", "paused_at",
    "paused_s", "extended_s", "met_at", "outcome", "escalated_at", "duration_s",
    "unit_department_id", "unit_team_id", "unit_community_id", "unit_subdistrict_id",
    "unit_campaign_id",
)  # fmt: skip

_POINT = f"ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {WGS84}), {STORAGE_SRID})"
_CASE_VALUES = {
    "id": "n.id",
    "number": "%(day)s || lpad(n.id::text, 7, '0')",
    "geom": _POINT,
}
_INSERT_REPORT_SQL = f"""
WITH n AS (SELECT nextval(pg_get_serial_sequence('cases_case', 'id')) AS id),
c AS (
  INSERT INTO cases_case ({", ".join(CASE_COLUMNS)})
  SELECT {", ".join(_CASE_VALUES.get(c, f"%({c})s") for c in CASE_COLUMNS)} FROM n
  RETURNING id, number
), z AS (
  INSERT INTO cases_case_zones (case_id, responsibilityzone_id)
  SELECT (SELECT id FROM c), unnest(%(zone_ids)s::bigint[])
), k AS (
  -- The case's units are given here: the clock trigger cannot see the case row this
  -- statement is inserting.
  INSERT INTO cases_clock ({", ".join(CLOCK_COLUMNS)})
  SELECT (SELECT id FROM c), kind, %(reported_at)s, due, lim, unit, NULL, 0, 0, NULL, 'open', NULL,
         NULL, %(department_id)s, %(team_id)s, %(community_id)s, %(subdistrict_id)s,
         %(campaign_id)s
    FROM unnest(%(clock_kinds)s::text[], %(clock_dues)s::timestamptz[],
                %(clock_limits)s::float8[], %(clock_units)s::text[]) AS t(kind, due, lim, unit)
)
INSERT INTO cases_caseevent ({", ".join(EVENT_COLUMNS)})
VALUES ((SELECT id FROM c), 'report', %(reporter_id)s, %(reported_at)s, '', %(stage)s, {_POINT},
        %(note)s, %(data)s, '')
RETURNING (SELECT id FROM c), (SELECT number FROM c), id
"""


def _insert_report(case: Case, event: CaseEvent, clocks: list, *, zone_ids: list[int]) -> None:
    """Write the new case, its zone links, event and clocks in one round trip; sets the ids
    and the case number (the day it was reported and its id)."""
    cursor = psycopg.Cursor(connection.connection)
    point = case.geom
    params = {
        **{c: getattr(case, c) for c in CASE_COLUMNS if c not in _CASE_VALUES},
        "day": f"{timezone.localtime(case.reported_at):%Y%m%d}",
        "lon": point.x,
        "lat": point.y,
        "zone_ids": list(zone_ids),
        "clock_kinds": [k.kind for k in clocks],
        "clock_dues": [k.due_at for k in clocks],
        "clock_limits": [k.limit_value for k in clocks],
        "clock_units": [k.limit_unit for k in clocks],
        "note": event.note,
        "data": Jsonb(event.data),
    }
    case.id, case.number, event.id = cursor.execute(
        _INSERT_REPORT_SQL, params, prepare=True
    ).fetchone()
    case._state.adding = False
    case._state.db = "default"
    event.case = case
    event.geom = case.geom
    event._state.adding = False
    event._state.db = "default"


def _notify_frontage_holders(case: Case) -> None:
    """门前五包: the shop answering for the spot hears of the case (inbox or SMS)."""
    users, phones = notify.frontage_holders(case)
    notify.notify(
        users,
        phones=phones,
        kind="frontage",
        case=case,
        title=_("门前五包: %(category)s reported in front of your door (case %(number)s)")
        % {"category": case.category.minor_name, "number": case.number},
        body=case.description[:300],
    )


def _area_ids(place) -> dict:
    """Primary keys of the geocoded areas."""
    return {
        "subdistrict": place.subdistrict.id if place.subdistrict else None,
        "community": place.community.id if place.community else None,
        "grid": place.grid.id if place.grid else None,
        "zones": [zone.id for zone in place.zones],
    }


class WrittenFiles:
    """Files written during a transaction; removed again if it fails (files are not
    transactional). An outer transaction rolling back later can still leave orphans, which hold
    no case's data and can be swept."""

    def __init__(self) -> None:
        self.names: list[tuple] = []

    def __enter__(self) -> "WrittenFiles":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            for storage, name in self.names:
                storage.delete(name)


def evidence_store(
    *,
    case: Case,
    event: CaseEvent | None,
    files: Iterable[CheckedFile],
    phase: str,
    user=None,
    written: WrittenFiles | None = None,
) -> list[Evidence]:
    """Store checked files as the case's evidence (photos get a thumbnail).

    Call it inside the transaction that writes the event, within ``WrittenFiles`` so that the
    files are removed if that transaction fails.
    """
    stored: list[Evidence] = []
    for checked in files:
        item = Evidence(
            case=case,
            event=event,
            media=checked.media,
            phase=phase,
            content_type=checked.content_type,
            extension=checked.extension,
            size_bytes=len(checked.content),
            sha256=checked.sha256,
            original_name=checked.name,
            uploaded_by=user,
        )
        item.file.save("upload", ContentFile(checked.content), save=False)
        if written is not None:
            written.names.append((item.file.storage, item.file.name))
        small = thumbnail(checked)
        if small is not None:
            item.thumbnail.save("thumb", small, save=False)
            if written is not None:
                written.names.append((item.thumbnail.storage, item.thumbnail.name))
        item.save()
        stored.append(item)
    return stored


def case_add_evidence(
    *, case: Case, files: Sequence[CheckedFile], phase: str, note: str = "", user=None
) -> list[Evidence]:
    """Add checked photos / videos to a case, with an ``evidence`` event recording who and when."""
    with WrittenFiles() as written, transaction.atomic():
        event = CaseEvent.objects.create(
            case=case,
            kind="evidence",
            actor=user,
            at=timezone.now(),
            from_stage=case.stage,
            to_stage=case.stage,
            note=note,
            data={"phase": phase, "files": len(files)},
        )
        return evidence_store(
            case=case, event=event, files=files, phase=phase, user=user, written=written
        )
