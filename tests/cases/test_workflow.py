"""The transition table on its own (no database): DESIGN §3, row by row."""

import pytest

from cases import workflow
from cases.workflow import TRANSITIONS, WorkflowError, check

DESIGN_ROWS = [
    # name, from stages, to stage, roles, clocks stopped, started
    ("file", {"reported"}, "registered", {"operator", "shift_leader"}, ("filing",), ("dispatch",)),
    ("reject", {"reported"}, "rejected", {"operator", "shift_leader"}, ("filing",), ()),
    (
        "dispatch",
        {"registered"},
        "dispatched",
        {"dispatcher"},
        ("dispatch",),
        ("arrival", "disposal"),
    ),
    (
        "arrive",
        {"dispatched"},
        "on_scene",
        {"field_member", "team_leader"},
        ("arrival",),
        ("feedback",),
    ),
    ("feedback", {"on_scene"}, None, {"field_member", "team_leader"}, ("feedback",), ()),
    (
        "handle",
        {"on_scene"},
        "handled",
        {"field_member", "team_leader"},
        ("disposal",),
        ("verification",),
    ),
    ("verify", {"handled"}, None, {"inspector", "shift_leader"}, ("verification",), ()),
    ("close", {"handled"}, "closed", {"shift_leader"}, (), ()),
    ("return", {"dispatched"}, "registered", {"field_member", "team_leader"}, (), ("dispatch",)),
]


@pytest.mark.parametrize(("name", "sources", "target", "roles", "stops", "starts"), DESIGN_ROWS)
def test_each_row_of_the_design_table(name, sources, target, roles, stops, starts):
    t = TRANSITIONS[name]
    assert t.from_stages == sources
    assert t.to_stage == target
    assert t.roles == roles
    assert t.stops == stops
    assert t.starts == starts


def test_the_approval_steps_need_a_reason_and_the_right_approver():
    for name, approver in [
        ("suspend", "shift_leader"),
        ("resume", "shift_leader"),
        ("extend", "shift_leader"),
        ("void", "shift_leader"),
        ("return", "dispatcher"),
    ]:
        t = TRANSITIONS[name]
        assert t.needs_reason and t.approval == name and t.approvers == {approver}
        assert workflow.may_decide(name, approver)
        assert not workflow.may_decide(name, "operator")
    assert TRANSITIONS["void"].cancels == workflow.ALL_CLOCKS
    assert TRANSITIONS["merge"].to_stage == "merged"


def test_rework_goes_back_to_dispatched_and_restarts_arrival_and_disposal():
    assert workflow.REWORK_STAGE == "dispatched"
    assert workflow.REWORK_RESTARTS == ("arrival", "disposal")
    assert workflow.REPORT_STARTS == ("filing",)
    assert workflow.SELF_DISPOSAL_STARTS == ("verification",)


def every_illegal_pair():
    for name, t in TRANSITIONS.items():
        for stage in sorted(workflow.ALL_STAGES - t.from_stages):
            yield name, stage


@pytest.mark.parametrize(("name", "stage"), list(every_illegal_pair()))
def test_every_illegal_stage_is_a_409_that_says_where_it_applies(name, stage):
    role = sorted(TRANSITIONS[name].roles)[0]
    with pytest.raises(WorkflowError) as info:
        check(name, stage=stage, role=role, on_team=True)
    assert info.value.status == 409
    assert f"cannot {name} a case that is {stage}" in info.value.message


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_a_role_outside_the_table_is_a_403(name):
    t = TRANSITIONS[name]
    stage = sorted(t.from_stages)[0]
    outsider = "planner"
    assert outsider not in t.roles
    with pytest.raises(WorkflowError) as info:
        check(name, stage=stage, role=outsider)
    assert info.value.status == 403


def test_field_team_steps_are_for_the_cases_own_team_only():
    check("arrive", stage="dispatched", role="field_member", on_team=True)
    with pytest.raises(WorkflowError, match="own team") as info:
        check("arrive", stage="dispatched", role="field_member", on_team=False)
    assert info.value.status == 403


def test_an_unknown_transition_is_a_404():
    with pytest.raises(WorkflowError) as info:
        check("teleport", stage="reported", role="operator")
    assert info.value.status == 404
