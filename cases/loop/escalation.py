"""Escalation of overdue clocks (超时升级)."""

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import notify
from ..models import Case, CaseEvent, Clock

ESCALATION_BATCH = 1000

_CLAIM_SQL = """
UPDATE cases_clock SET escalated_at = %(now)s
 WHERE id IN (SELECT id FROM cases_clock
               WHERE outcome = 'open' AND escalated_at IS NULL AND paused_at IS NULL
                 AND due_at <= %(now)s
               ORDER BY due_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING id, case_id, kind, due_at
"""


def clocks_escalate_due(*, now: datetime | None = None, batch: int = ESCALATION_BATCH) -> int:
    """Escalate every overdue clock exactly once: an ``escalate`` event on its case, a console
    alert and notifications up the chain. Claims clocks with one indexed ``UPDATE … SKIP
    LOCKED``, so overlapping sweeps never escalate a clock twice. Returns how many."""
    total = 0
    while True:
        now = now or timezone.now()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_CLAIM_SQL, {"now": now, "batch": batch})
                claimed = cursor.fetchall()
            if not claimed:
                break
            cases = Case.objects.defer("geom", "description").in_bulk([row[1] for row in claimed])
            CaseEvent.objects.bulk_create(
                CaseEvent(
                    case_id=case_id,
                    kind="escalate",
                    at=now,
                    from_stage=cases[case_id].stage,
                    to_stage=cases[case_id].stage,
                    data={"clock": clock_id, "clock_kind": kind, "due_at": due_at.isoformat()},
                )
                for clock_id, case_id, kind, due_at in claimed
            )
            memo: dict = {}
            notify.notify_batch(
                notify.Message(
                    notify.escalation_chain(cases[case_id], memo=memo),
                    kind="escalation",
                    case=cases[case_id],
                    title=_("Overdue: %(clock)s of case %(number)s")
                    % {"clock": Clock.Kind(kind).label, "number": cases[case_id].number},
                )
                for _clock, case_id, kind, _due in claimed
            )
            notify.publish(
                notify.CONSOLE_CHANNEL,
                {"type": "escalation", "clocks": [[c, k, kind] for c, k, kind, _ in claimed]},
            )
        total += len(claimed)
        if len(claimed) < batch:
            break
        now = None
    return total
