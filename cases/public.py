"""The citizens' side of cases (群众上报): taking a report once, what a citizen may see of it,
their rating after closure, and the messages that tell them how it goes.

A citizen has no account: the tracking number (random, ``Case.tracking``) is their key to the
case. What they see is deliberately less than the event log holds: the public steps of the loop
in plain words, what the team did, and the photos from before and after — never staff names,
internal notes, clocks or other evidence.
"""

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import filetype
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import notify
from .evidence import PHOTO_TYPES, VIDEO_TYPES, CheckedFile, EvidenceRejected, check_upload
from .models import Case, CaseEvent, Delivery, Evidence, Notification, PublicRating, PublicReportKey
from .services import IntakeError, case_report

#: A repeat of a submission (same Idempotency-Key) within this time answers the case it made.
KEY_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Taken:
    """A public report as taken: the case, and whether this was a repeat of an earlier
    submission (nothing new was written then)."""

    case: Case
    repeated: bool


def report_fingerprint(*, category: str, lon: float, lat: float, description: str) -> str:
    """What makes two submissions the same report (coordinates to ~1 cm)."""
    text = f"{category.strip().upper()}|{lon:.7f}|{lat:.7f}|{description.strip()}"
    return hashlib.sha256(text.encode()).hexdigest()


def public_report_take(*, idempotency_key: str = "", fingerprint: str = "", **report) -> Taken:
    """Take a citizen's report (``case_report`` with source ``public``) at most once per key.

    With an ``idempotency_key``, a second submission with the same key within ``KEY_WINDOW``
    answers the first one's case instead of filing another. Concurrent submissions with one key
    queue on a transaction-scoped advisory lock on the key, so the second sees the first's row
    (and the key's unique index is the last guard). The same key with a different report
    (another fingerprint) is refused: a key names one submission.

    Raises ``IntakeError`` as ``case_report`` does (nothing written).
    """
    if not idempotency_key:
        return Taken(case_report(source=Case.Source.PUBLIC, **report), repeated=False)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"public-report:{idempotency_key}"],
            )
        now = timezone.now()
        earlier = PublicReportKey.objects.select_related("case").filter(key=idempotency_key).first()
        if earlier is not None and earlier.created_at >= now - KEY_WINDOW:
            if earlier.fingerprint != fingerprint:
                raise IntakeError(
                    "idempotency_key",
                    _("This Idempotency-Key was already used for a different report."),
                    status=409,
                )
            return Taken(earlier.case, repeated=True)
        case = case_report(source=Case.Source.PUBLIC, **report)
        # Keys only matter for KEY_WINDOW: each new one sweeps the expired ones, so the table
        # holds a few minutes of submissions and this scan stays small without an index.
        PublicReportKey.objects.filter(created_at__lt=now - KEY_WINDOW).exclude(
            key=idempotency_key
        ).delete()
        PublicReportKey.objects.update_or_create(
            key=idempotency_key,
            defaults={"case": case, "fingerprint": fingerprint, "created_at": now},
        )
    return Taken(case, repeated=False)


def public_upload_check(upload) -> CheckedFile:
    """``check_upload`` for citizens: the same checks, with the reason in the reader's
    language (the staff API's messages are technical English)."""
    try:
        return check_upload(upload)
    except EvidenceRejected as exc:
        raise EvidenceRejected(_explain_rejection(upload)) from exc


def _explain_rejection(upload) -> str:
    name = getattr(upload, "name", "") or _("the file")
    upload.seek(0)
    head = upload.read(8192)
    size_mb = (getattr(upload, "size", None) or len(head)) / 1048576
    kind = filetype.guess(head) if head else None
    mime = kind.mime if kind else None
    if not head:
        return _("%(name)s is empty.") % {"name": name}
    if mime in PHOTO_TYPES or mime in VIDEO_TYPES:
        is_photo = mime in PHOTO_TYPES
        limit = settings.GRIDMAP_MAX_PHOTO_MB if is_photo else settings.GRIDMAP_MAX_VIDEO_MB
        if size_mb > limit:
            message = (
                _("%(name)s is %(size).1f MB; a photo may have at most %(limit)g MB.")
                if is_photo
                else _("%(name)s is %(size).1f MB; a video may have at most %(limit)g MB.")
            )
            return message % {"name": name, "size": size_mb, "limit": limit}
        return _("%(name)s cannot be read as a photo: it may be damaged.") % {"name": name}
    return _(
        "%(name)s is not a photo or a video: send a JPEG, PNG, WebP or HEIC photo "
        "(or an MP4, MOV or WebM video)."
    ) % {"name": name}


# --- what a citizen sees ----------------------------------------------------------------------

#: Event kinds a citizen sees, in plain words; every other kind (notes, uploads, escalations,
#: approvals, supervision) stays inside the centre.
PUBLIC_STEPS = {
    "report": gettext_lazy("Reported"),
    "file": gettext_lazy("Accepted and filed"),
    "reject": gettext_lazy("Not filed"),
    "dispatch": gettext_lazy("Sent to the responsible team"),
    "arrive": gettext_lazy("The team arrived on site"),
    "handle": gettext_lazy("Handled"),
    "verify": gettext_lazy("Checked on site"),
    "close": gettext_lazy("Closed"),
    "void": gettext_lazy("Cancelled"),
    "merge": gettext_lazy("Merged with an earlier report of the same problem"),
}
REWORK_STEP = gettext_lazy("Checked on site: more work needed")

#: Stages in plain words, with what happens next.
PUBLIC_STAGES = {
    "reported": (
        gettext_lazy("Received"),
        gettext_lazy("The centre will check your report and file it."),
    ),
    "registered": (
        gettext_lazy("Filed"),
        gettext_lazy("Your report was accepted and is being sent to the responsible team."),
    ),
    "dispatched": (
        gettext_lazy("A team is on its way"),
        gettext_lazy("The responsible team has the task."),
    ),
    "on_scene": (
        gettext_lazy("Being handled"),
        gettext_lazy("The team is on site."),
    ),
    "handled": (
        gettext_lazy("Handled, being checked"),
        gettext_lazy("An inspector checks the result on site before the case is closed."),
    ),
    "closed": (gettext_lazy("Closed"), gettext_lazy("The problem was handled and checked.")),
    "rejected": (
        gettext_lazy("Not filed"),
        gettext_lazy(
            "The centre did not file this report: it is not a matter for city management, "
            "or it was already solved."
        ),
    ),
    "void": (gettext_lazy("Cancelled"), gettext_lazy("This case was cancelled.")),
    "merged": (
        gettext_lazy("Merged"),
        gettext_lazy("Someone reported the same problem earlier; it is handled there."),
    ),
}

#: The steps of a case that runs its whole course, for the timeline's steps still to come.
COURSE = ("report", "file", "dispatch", "handle", "verify", "close")


@dataclass(frozen=True)
class PublicStep:
    kind: str
    label: str
    at: datetime | None
    done: bool = True


@dataclass(frozen=True)
class PublicPhoto:
    id: int
    phase: str  # "before" or "after"
    at: datetime


@dataclass(frozen=True)
class PublicView:
    """A case as its reporter may see it."""

    case: Case
    category: str
    stage: str
    stage_label: str
    stage_help: str
    steps: list[PublicStep]
    done_note: str
    photos: list[PublicPhoto]
    rating: PublicRating | None

    @property
    def has_before(self) -> bool:
        return any(p.phase == "before" for p in self.photos)

    @property
    def has_after(self) -> bool:
        return any(p.phase == "after" for p in self.photos)

    @property
    def may_rate(self) -> bool:
        return self.case.stage == Case.Stage.CLOSED and self.rating is None


def public_case(tracking: str) -> Case | None:
    """The case with this tracking number (case and spaces forgiven), or None."""
    tracking = (tracking or "").strip().upper()
    if not tracking or len(tracking) > 16:
        return None
    return Case.objects.select_related("category").filter(tracking=tracking).first()


def public_view(case: Case) -> PublicView:
    """What the reporter sees: stage, public steps, what was done, before/after photos, rating."""
    events = list(case.events.only("kind", "at", "note", "to_stage", "data").order_by("at", "id"))
    steps = []
    for event in events:
        if event.kind not in PUBLIC_STEPS:
            continue
        failed = event.kind == "verify" and (event.data or {}).get("result") == "failed"
        steps.append(
            PublicStep(
                event.kind, str(REWORK_STEP if failed else PUBLIC_STEPS[event.kind]), event.at
            )
        )
    if case.is_open:
        seen = {s.kind for s in steps}
        steps += [
            PublicStep(k, str(PUBLIC_STEPS[k]), None, done=False) for k in COURSE if k not in seen
        ]
    handled = [e for e in events if e.kind == "handle"]
    label, help_text = PUBLIC_STAGES.get(case.stage, (case.stage, ""))
    return PublicView(
        case=case,
        category=case.category.public_name or case.category.minor_name,
        stage=case.stage,
        stage_label=str(label),
        stage_help=str(help_text),
        steps=steps,
        done_note=handled[-1].note if handled else "",
        photos=public_photos(case),
        rating=PublicRating.objects.filter(case=case).first(),
    )


#: Evidence phases shown to the public, and as what.
PUBLIC_PHASES = {"report": "before", "before": "before", "after": "after"}


def _public_evidence(case: Case):
    return Evidence.objects.filter(
        case=case, media=Evidence.Media.PHOTO, phase__in=list(PUBLIC_PHASES)
    ).exclude(thumbnail="")


def public_photos(case: Case) -> list[PublicPhoto]:
    """The case's photos from before and after disposal (the report's own photo counts as
    before). Only photos with a thumbnail: the public gets the re-encoded copy without EXIF,
    never the original file (which may carry a phone's GPS position and serial number)."""
    return [
        PublicPhoto(e.pk, PUBLIC_PHASES[e.phase], e.uploaded_at)
        for e in _public_evidence(case).order_by("uploaded_at", "id")
    ]


def public_photo(case: Case, evidence_id: int) -> Evidence | None:
    """One of ``case``'s public photos by id; None for anything else (another case's evidence,
    a video, a photo of another phase)."""
    return _public_evidence(case).filter(pk=evidence_id).first()


# --- rating -----------------------------------------------------------------------------------


class RatingRefused(Exception):
    """A rating that cannot be taken; ``status``: 400 bad input, 409 not now or not again."""

    def __init__(self, field: str, message: str, *, status: int) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


#: The lowest of the five stars that counts as satisfied (满意) in the evaluation's public
#: satisfaction rate: 4 and 5 are satisfied, 1–3 are not.
SATISFIED_FROM = 4


def public_rating_add(*, case: Case, score, comment: str = "") -> PublicRating:
    """The reporter's rating (群众满意度) of a closed case: ``score`` 1–5 and a comment, once.

    The case row is locked while checking, and the one-to-one key refuses a second rating that
    slips past the check. The rating is also a ``satisfaction`` event of the case (satisfied
    from ``SATISFIED_FROM`` stars), which the evaluation's public satisfaction rate reads."""
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise RatingRefused("score", _("Choose from 1 to 5 stars."), status=400)
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise RatingRefused(
            "comment", _("The comment may have at most 1000 characters."), status=400
        )
    try:
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(pk=case.pk)
            if locked.stage != Case.Stage.CLOSED:
                raise RatingRefused(
                    "score", _("You can rate the result once the case is closed."), status=409
                )
            if PublicRating.objects.filter(case=locked).exists():
                raise RatingRefused("score", _("This case was already rated."), status=409)
            rating = PublicRating.objects.create(
                case=locked, score=score, comment=comment, rated_at=timezone.now()
            )
            CaseEvent.objects.create(
                case=locked,
                kind="satisfaction",
                at=rating.rated_at,
                from_stage=locked.stage,
                to_stage=locked.stage,
                data={
                    "satisfied": score >= SATISFIED_FROM,
                    "score": score,
                    "channel": "public",
                },
            )
            return rating
    except IntegrityError as exc:
        raise RatingRefused("score", _("This case was already rated."), status=409) from exc


# --- telling the reporter ---------------------------------------------------------------------

#: The steps a reporter who left an e-mail address or phone number hears of.
REPORTER_MESSAGES = {
    "file": gettext_lazy("Your report %(tracking)s was accepted and filed."),
    "reject": gettext_lazy("Your report %(tracking)s was not filed."),
    "verify": gettext_lazy("The problem you reported (%(tracking)s) was handled and checked."),
    "close": gettext_lazy("Your report %(tracking)s is closed. Please rate the result."),
}


def status_url(case: Case) -> str:
    """The status page's address: absolute when ``GRIDMAP_PUBLIC_URL`` is set."""
    base = (
        getattr(settings, "GRIDMAP_PUBLIC_URL", "") or os.environ.get("GRIDMAP_PUBLIC_URL", "")
    ).rstrip("/")
    return f"{base}/report/{case.tracking}/"


def reporter_notify(case: Case, event: CaseEvent) -> Notification | None:
    """Tell a citizen who left an e-mail address or phone number that their report was filed
    (or not), verified or closed: one notification without a user, delivered by e-mail and SMS
    through the outbound channels that are on (with their retries). Call inside the step's
    transaction. Nothing for other steps, a failed verification, or a report without contact.
    """
    if event.kind not in REPORTER_MESSAGES or not (case.contact_email or case.contact_phone):
        return None
    if event.kind == "verify" and (event.data or {}).get("result") != "passed":
        return None
    channels = notify.enabled_channels()
    addresses = [
        (channel, address)
        for channel, address in (("email", case.contact_email), ("sms", case.contact_phone))
        if address and channel in channels
    ]
    if not addresses:
        return None
    with translation.override(settings.LANGUAGE_CODE):
        title = str(REPORTER_MESSAGES[event.kind]) % {"tracking": case.tracking}
        body = "\n".join([title, _("Follow it at %(url)s") % {"url": status_url(case)}])
    now = timezone.now()
    note = Notification.objects.create(
        user=None, case=case, kind=f"reporter_{event.kind}", title=title, body=body, created_at=now
    )
    Delivery.objects.bulk_create(
        Delivery(notification=note, channel=channel, address=address, next_attempt_at=now)
        for channel, address in addresses
    )
    return note


def public_view_json(view: PublicView) -> dict:
    """The status page's content for the public API (no staff names, notes or clocks)."""
    tracking = view.case.tracking
    return {
        "stage_public": view.stage_label,
        "stage_help": view.stage_help,
        "steps": [
            {"kind": s.kind, "label": s.label, "at": s.at, "done": s.done} for s in view.steps
        ],
        "done": view.done_note,
        "photos": [
            {
                "phase": p.phase,
                "url": reverse("public-report-photo", args=[tracking, p.id]),
                "at": p.at,
            }
            for p in view.photos
        ],
        "rating": (
            {"score": view.rating.score, "comment": view.rating.comment} if view.rating else None
        ),
        "may_rate": view.may_rate,
        "status_url": f"/report/{tracking}/",
    }
