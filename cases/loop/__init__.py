"""The closed loop's services: one per transition of cases/workflow.py, approvals, escalation.

Every transition runs the same checks in one transaction, on the case row locked ``FOR
UPDATE`` (two dispatchers racing: the second finds the case already dispatched → 409):

1. the case is in the actor's area (else it does not exist for them → 404);
2. the table allows it from this stage for this role (409 / 403);
3. what it needs is there: a reason, evidence of the right type, a team, a result… (400);
4. a client time is not before the previous event nor in the future (400); an
   ``Idempotency-Key`` already used on this case is a double submission (409);

then it writes exactly one ``CaseEvent`` and moves the clocks as the table says. Steps that need
an approval create an ``ApprovalRequest`` (and a ``request_…`` event) instead; the decision is
another event, and an approved request then takes effect.
"""

from .apply import transition_apply
from .approvals import approval_decide
from .core import LoopError, Outcome, Step
from .escalation import ESCALATION_BATCH, clocks_escalate_due
from .steps import verifier_for

__all__ = [
    "ESCALATION_BATCH",
    "LoopError",
    "Outcome",
    "Step",
    "approval_decide",
    "clocks_escalate_due",
    "transition_apply",
    "verifier_for",
]
