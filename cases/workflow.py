"""The closed loop (DESIGN §3) as pure data: which transition, from which stage, by whom, and
what it does to the clocks. No database here, so the table can be tested on its own.

The seven steps map onto stored stages: 发现问题 ``reported``, 受理立案 ``registered``, 任务派遣
``dispatched``, 问题处置 ``on_scene`` → ``handled``, 现场核查 (``verify``), 案件结案 ``closed``,
考核评价 (computed from events and clocks). ``rejected``, ``void`` and ``merged`` end a case early.

``ANY_OPEN`` stands for every stage before the end. Roles are the ``User.Role`` values;
``FIELD_TEAM`` means a field member or team leader *of the case's team*.
"""

from dataclasses import dataclass, field

REPORTED, REGISTERED, DISPATCHED = "reported", "registered", "dispatched"
ON_SCENE, HANDLED, CLOSED = "on_scene", "handled", "closed"
REJECTED, VOID, MERGED = "rejected", "void", "merged"

OPEN_STAGES = frozenset({REPORTED, REGISTERED, DISPATCHED, ON_SCENE, HANDLED})
FINAL_STAGES = frozenset({CLOSED, REJECTED, VOID, MERGED})
ALL_STAGES = OPEN_STAGES | FINAL_STAGES

OPERATOR, SHIFT_LEADER, DISPATCHER = "operator", "shift_leader", "dispatcher"
INSPECTOR, COMMANDER, OFFICE_HEAD = "inspector", "commander", "office_head"
DEPARTMENT_HEAD = "department_head"
FIELD_TEAM = frozenset({"field_member", "team_leader"})
LEADERS = frozenset({COMMANDER, OFFICE_HEAD, SHIFT_LEADER, DEPARTMENT_HEAD})
#: Who may ask for an approval step on a case (the shift leader decides).
REQUESTERS = frozenset({OPERATOR, SHIFT_LEADER, DISPATCHER, COMMANDER, INSPECTOR} | FIELD_TEAM)

# Clock kinds.
FILING, DISPATCH, ARRIVAL, FEEDBACK = "filing", "dispatch", "arrival", "feedback"
DISPOSAL, VERIFICATION = "disposal", "verification"
ALL_CLOCKS = (FILING, DISPATCH, ARRIVAL, FEEDBACK, DISPOSAL, VERIFICATION)


@dataclass(frozen=True)
class Transition:
    name: str
    from_stages: frozenset[str]
    #: None: the stage does not change.
    to_stage: str | None
    roles: frozenset[str]
    #: Clocks met (stopped, on time or late) / cancelled / started by the transition.
    stops: tuple[str, ...] = ()
    cancels: tuple[str, ...] = ()
    starts: tuple[str, ...] = ()
    needs_reason: bool = False
    #: Evidence that must come with it: "any" (photo or video) or None.
    needs_evidence: str | None = None
    #: The kind of approval request it creates instead of acting at once (None: acts at once).
    approval: str | None = None
    #: Who decides that approval.
    approvers: frozenset[str] = field(default_factory=frozenset)
    description: str = ""


T = Transition

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        T(
            "file",
            frozenset({REPORTED}),
            REGISTERED,
            frozenset({OPERATOR, SHIFT_LEADER}),
            stops=(FILING,),
            starts=(DISPATCH,),
            description="受理立案: accept and file the case",
        ),
        T(
            "reject",
            frozenset({REPORTED}),
            REJECTED,
            frozenset({OPERATOR, SHIFT_LEADER}),
            stops=(FILING,),
            needs_reason=True,
            description="不予立案: reject, with a reason",
        ),
        T(
            "dispatch",
            frozenset({REGISTERED}),
            DISPATCHED,
            frozenset({DISPATCHER}),
            stops=(DISPATCH,),
            starts=(ARRIVAL, DISPOSAL),
            description="任务派遣: to one team",
        ),
        T(
            "arrive",
            frozenset({DISPATCHED}),
            ON_SCENE,
            FIELD_TEAM,
            stops=(ARRIVAL,),
            starts=(FEEDBACK,),
            description="到达现场, with the team's GPS",
        ),
        T(
            "feedback",
            frozenset({ON_SCENE}),
            None,
            FIELD_TEAM,
            stops=(FEEDBACK,),
            needs_evidence="any",
            description="视频反馈: video or photo from the scene",
        ),
        T(
            "handle",
            frozenset({ON_SCENE}),
            HANDLED,
            FIELD_TEAM,
            stops=(DISPOSAL,),
            cancels=(FEEDBACK,),
            starts=(VERIFICATION,),
            needs_evidence="any",
            description="处置完成, with after-disposal evidence",
        ),
        # verify: passed keeps the stage (the case waits for closure), failed sends it back as
        # rework (返工); the service picks the target stage from the result.
        T(
            "verify",
            frozenset({HANDLED}),
            None,
            frozenset({INSPECTOR, SHIFT_LEADER}),
            stops=(VERIFICATION,),
            description="现场核查: passed, or failed = rework (返工)",
        ),
        T(
            "close",
            frozenset({HANDLED}),
            CLOSED,
            frozenset({SHIFT_LEADER}),
            description="案件结案, after a passed verification",
        ),
        T(
            "return",
            frozenset({DISPATCHED}),
            REGISTERED,
            FIELD_TEAM,
            cancels=(ARRIVAL, DISPOSAL),
            starts=(DISPATCH,),
            needs_reason=True,
            approval="return",
            approvers=frozenset({DISPATCHER}),
            description="回退: the team returns a case that is not theirs; the dispatcher accepts",
        ),
        T(
            "suspend",
            OPEN_STAGES,
            None,
            REQUESTERS,
            needs_reason=True,
            approval="suspend",
            approvers=frozenset({SHIFT_LEADER}),
            description="挂账: pause all open clocks",
        ),
        T(
            "resume",
            OPEN_STAGES,
            None,
            REQUESTERS,
            needs_reason=True,
            approval="resume",
            approvers=frozenset({SHIFT_LEADER}),
            description="resume a suspended case",
        ),
        T(
            "extend",
            OPEN_STAGES,
            None,
            REQUESTERS,
            needs_reason=True,
            approval="extend",
            approvers=frozenset({SHIFT_LEADER}),
            description="延时: move the disposal deadline",
        ),
        T(
            "void",
            OPEN_STAGES,
            VOID,
            REQUESTERS,
            cancels=ALL_CLOCKS,
            needs_reason=True,
            approval="void",
            approvers=frozenset({SHIFT_LEADER}),
            description="作废",
        ),
        T(
            "supervise",
            OPEN_STAGES,
            None,
            LEADERS,
            needs_reason=True,
            description="督办: a leader flags the case; the responsible unit must reply",
        ),
        T(
            "reply",
            OPEN_STAGES,
            None,
            FIELD_TEAM | frozenset({DEPARTMENT_HEAD, DISPATCHER}),
            needs_reason=True,
            description="reply to a supervision",
        ),
        T(
            "merge",
            OPEN_STAGES,
            MERGED,
            frozenset({OPERATOR, SHIFT_LEADER}),
            cancels=ALL_CLOCKS,
            description="合并: a duplicate merged into another case",
        ),
        T(
            "keep",
            OPEN_STAGES,
            None,
            frozenset({OPERATOR, SHIFT_LEADER}),
            description="keep a case flagged as a probable duplicate",
        ),
    ]
}

#: Reporting is the intake (POST /api/v1/cases), not a transition of an existing case: it
#: starts ``filing`` for a new case, or ``verification`` for a self-disposed one (自处理).
REPORT_STARTS = (FILING,)
SELF_DISPOSAL_STARTS = (VERIFICATION,)
#: Verification failed = rework (返工): back to dispatched, arrival and disposal restart.
REWORK_STAGE = DISPATCHED
REWORK_RESTARTS = (ARRIVAL, DISPOSAL)


class WorkflowError(Exception):
    """A transition that the table does not allow; ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def check(name: str, *, stage: str, role: str, on_team: bool = False) -> Transition:
    """The transition ``name`` if ``role`` may apply it to a case in ``stage``.

    Raises ``WorkflowError``: 404 for an unknown transition, 409 for a stage it does not apply
    to (the message says which stages it needs), 403 for a role that may not apply it.
    ``on_team``: whether the actor belongs to the case's team (for field-team transitions).
    """
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise WorkflowError(f"there is no transition {name!r}", status=404)
    if stage not in transition.from_stages:
        allowed = ", ".join(sorted(transition.from_stages))
        raise WorkflowError(
            f"cannot {name} a case that is {stage}: {name} applies to {allowed}", status=409
        )
    may = role in transition.roles
    if role in FIELD_TEAM and may and not on_team:
        raise WorkflowError(f"only the case's own team may {name} it", status=403)
    if not may:
        raise WorkflowError(f"a {role} may not {name} a case", status=403)
    return transition


def may_decide(kind: str, role: str) -> bool:
    """Whether ``role`` may approve or refuse an approval request of ``kind``."""
    for transition in TRANSITIONS.values():
        if transition.approval == kind:
            return role in transition.approvers
    return False
