"""Input and output serializers of the case API (geometry in and out as WGS-84 GeoJSON)."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from gridmap.crs import UnknownSRS, parse_srs

from .clocks import traffic_light
from .models import Case, CaseEvent, Clock, Evidence


class LocationInput(serializers.Serializer):
    """A point given as GeoJSON (``location``) or ``lon``/``lat``, in ``srs`` (default WGS-84)."""

    location = serializers.JSONField(required=False)
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    srs = serializers.CharField(required=False, allow_blank=True, max_length=40)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        location = attrs.pop("location", None)
        if location is not None:
            if "lon" in attrs or "lat" in attrs:
                raise serializers.ValidationError(
                    {"location": [_("Give either location or lon/lat, not both.")]}
                )
            if not isinstance(location, dict) or location.get("type") != "Point":
                raise serializers.ValidationError(
                    {
                        "location": [
                            _(
                                'location must be a GeoJSON Point: {"type": "Point", '
                                '"coordinates": [lon, lat]}.'
                            )
                        ]
                    }
                )
            coords = location.get("coordinates")
            if (
                not isinstance(coords, list | tuple)
                or len(coords) < 2
                or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
            ):
                raise serializers.ValidationError(
                    {"location": [_("location.coordinates must be [lon, lat] numbers.")]}
                )
            attrs["lon"], attrs["lat"] = float(coords[0]), float(coords[1])
        if "lon" not in attrs or "lat" not in attrs:
            raise serializers.ValidationError(
                {
                    "location": [
                        _("A location is required: location (GeoJSON Point) or lon and lat.")
                    ]
                }
            )
        try:
            attrs["srs"] = parse_srs(attrs.get("srs") or None)
        except UnknownSRS as exc:
            raise serializers.ValidationError({"srs": [str(exc)]}) from exc
        lon, lat = attrs["lon"], attrs["lat"]
        if attrs["srs"] in (4326, 4490, "gcj02", "bd09"):
            if not (-180 <= lon <= 180):
                raise serializers.ValidationError(
                    {"lon": [_("Longitude must lie between -180 and 180, got %(v)s.") % {"v": lon}]}
                )
            if not (-90 <= lat <= 90):
                hint = (
                    " " + _("Are lon and lat swapped?")
                    if -90 <= lon <= 90 and abs(lat) <= 180
                    else ""
                )
                raise serializers.ValidationError(
                    {
                        "lat": [
                            _("Latitude must lie between -90 and 90, got %(v)s.") % {"v": lat}
                            + hint
                        ]
                    }
                )
        return attrs


class CaseCreateInput(LocationInput):
    """``POST /api/v1/cases``: JSON, or multipart with ``files``."""

    category = serializers.CharField(max_length=12)
    source = serializers.ChoiceField(choices=Case.Source.choices)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    reported_at = serializers.DateTimeField(required=False)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=100)
    camera_code = serializers.CharField(required=False, allow_blank=True, max_length=60)
    petitioner_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    petitioner_phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    petitioner_wants_reply = serializers.BooleanField(required=False, default=False)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    campaign = serializers.CharField(required=False, allow_blank=True, max_length=40)
    urgent = serializers.BooleanField(required=False, default=False)
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), required=False, max_length=10
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["source"] == Case.Source.CAMERA and not attrs.get("camera_code"):
            raise serializers.ValidationError(
                {"camera_code": [_("A camera report names its camera (camera_code).")]}
            )
        if attrs["source"] == Case.Source.HIGHER_LEVEL and not attrs.get("external_id"):
            raise serializers.ValidationError(
                {"external_id": [_("A higher-level assignment carries its external_id.")]}
            )
        return attrs


class PublicReportInput(LocationInput):
    """``POST /api/v1/public/reports``: what a citizen may send."""

    category = serializers.CharField(max_length=12)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), required=False, max_length=3
    )


class EvidenceInput(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), min_length=1, max_length=10
    )
    phase = serializers.ChoiceField(choices=Evidence.Phase.choices, default=Evidence.Phase.OTHER)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def _ref(obj, *, name_attr: str = "name") -> dict | None:
    if obj is None:
        return None
    return {"code": obj.code, "name": getattr(obj, name_attr)}


def evidence_json(item: Evidence) -> dict:
    return {
        "id": item.pk,
        "media": item.media,
        "phase": item.phase,
        "content_type": item.content_type,
        "size_bytes": item.size_bytes,
        "event": item.event_id,
        "uploaded_at": item.uploaded_at,
        "url": reverse("evidence-file", args=[item.pk]),
        "thumbnail_url": reverse("evidence-thumbnail", args=[item.pk]) if item.thumbnail else None,
    }


def event_json(event: CaseEvent) -> dict:
    return {
        "id": event.pk,
        "kind": event.kind,
        "at": event.at,
        "actor": event.actor.username if event.actor_id else None,
        "from_stage": event.from_stage,
        "to_stage": event.to_stage,
        "note": event.note,
        "data": event.data,
    }


def clock_json(clock: Clock, *, now) -> dict:
    light = traffic_light(clock, now=now)
    return {
        "kind": clock.kind,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "limit": {"value": clock.limit_value, "unit": clock.limit_unit},
        "paused": clock.paused_at is not None,
        "met_at": clock.met_at,
        "outcome": clock.outcome,
        "escalated_at": clock.escalated_at,
        "light": light.colour,
        "used": round(light.used, 3),
    }


def case_properties(case: Case, *, full: bool = False) -> dict:
    """The case as GeoJSON properties (the list's short form, or the detail's full one)."""
    now = timezone.now()
    props = {
        "id": case.pk,
        "number": case.number,
        "source": case.source,
        "category": {"code": case.category.code, "name": case.category.minor_name},
        "stage": case.stage,
        "urgent": case.urgent,
        "reported_at": case.reported_at,
        "community": _ref(case.community),
        "grid": case.grid.code if case.grid_id else None,
        "department": _ref(case.department),
        "team": _ref(case.team),
        "duplicate_of": case.duplicate_of_id,
    }
    if full:
        props.update(
            tracking=case.tracking,
            description=case.description,
            address=case.address,
            condition=case.condition,
            subdistrict=_ref(case.subdistrict),
            zones=[
                {"code": z.code, "name": z.name, "kind": z.kind, "holder": z.holder}
                for z in case.zones.all()
            ],
            component=(
                {"code": case.component.code, "class": case.component.component_class.minor_name}
                if case.component_id
                else None
            ),
            camera_code=case.camera_code,
            external_id=case.external_id,
            petitioner=(
                {
                    "name": case.petitioner_name,
                    "phone": case.petitioner_phone,
                    "wants_reply": case.petitioner_wants_reply,
                }
                if case.petitioner_name or case.petitioner_phone
                else None
            ),
            campaign=_ref(case.campaign),
            merged_into=case.merged_into_id,
            closed_at=case.closed_at,
            verifier=case.verifier.username if case.verifier_id else None,
            verified_at=case.verified_at,
            suspended=case.suspended_at is not None,
            supervised=any(s.replied_at is None for s in case.supervisions.all()),
            supervisions=[
                {
                    "note": s.note,
                    "requested_at": s.requested_at,
                    "reply": s.reply,
                    "replied_at": s.replied_at,
                }
                for s in case.supervisions.all()
            ],
            clocks=[clock_json(c, now=now) for c in case.clocks.all()],
            evidence=[evidence_json(e) for e in case.evidence.all()],
            history=[event_json(e) for e in case.events.all()],
        )
    return props


def case_feature(case: Case, *, full: bool = False) -> dict:
    """A GeoJSON Feature in WGS-84 (``geom_wgs84`` annotated by the selector)."""
    point = case.geom_wgs84 if hasattr(case, "geom_wgs84") else case.geom.transform(4326, True)
    return {
        "type": "Feature",
        "id": case.pk,
        "geometry": {"type": "Point", "coordinates": [round(point.x, 7), round(point.y, 7)]},
        "properties": case_properties(case, full=full),
    }


def intake_receipt(case: Case) -> dict:
    """What ``POST /api/v1/cases`` answers: the new case's keys and where it was placed, built
    from what intake already holds (no query)."""
    place = getattr(case, "address_found", None)
    return {
        "id": case.pk,
        "number": case.number,
        "tracking": case.tracking,
        "stage": case.stage,
        "category": case.category.code,
        "url": reverse("case-detail", args=[case.pk]),
        "subdistrict": _area(place.subdistrict) if place else None,
        "community": _area(place.community) if place else None,
        "grid": place.grid.code if place and place.grid else None,
        "zones": [{"code": z.code, "kind": z.kind} for z in place.zones] if place else [],
        "department": case.department_id,
        "component": case.component_id,
        "condition": case.condition,
        "duplicate_of": case.duplicate_of_id,
        "evidence": [evidence_json(e) for e in getattr(case, "stored_evidence", [])],
    }


def _area(ref) -> dict | None:
    return None if ref is None else {"code": ref.code, "name": ref.name}
