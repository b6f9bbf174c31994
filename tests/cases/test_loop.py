"""The closed loop through the API: one test per transition, approvals, rework, bad input.

People: an operator, a shift leader, a dispatcher, team TM1 (a leader and a member), a patrol
inspector whose patrol zone covers the west community, and an outsider in the east community.
"""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from cases.models import ApprovalRequest, Case, CaseEvent, Clock
from cases.services import case_report
from gridmap.models import User
from tests.factories import CategoryFactory, UserFactory, ZoneFactory, lonlat, rect, small_district

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    area = small_district()
    CategoryFactory(code="E9901", minor_name="暴露垃圾")
    team = area["team"]
    people = {
        "operator": UserFactory(username="op", role=User.Role.OPERATOR),
        "shift": UserFactory(username="shift", role=User.Role.SHIFT_LEADER),
        "dispatcher": UserFactory(username="disp", role=User.Role.DISPATCHER),
        "leader": UserFactory(username="lead1", role=User.Role.TEAM_LEADER, team=team),
        "member": UserFactory(username="mem1", role=User.Role.FIELD_MEMBER, team=team),
        "stranger": UserFactory(username="mem2", role=User.Role.FIELD_MEMBER),
        "inspector": UserFactory(username="insp", role=User.Role.INSPECTOR),
        "commander": UserFactory(username="boss", role=User.Role.COMMANDER),
        "east_lead": UserFactory(
            username="east", role=User.Role.COMMUNITY_LEAD, community=area["c2"]
        ),
    }
    ZoneFactory(
        code="PZ1", kind="patrol", geom=rect(0, 0, 200, 300), responsible_user=people["inspector"]
    )
    area.update(people)
    return area


def new_case(world, *, minutes_ago=0, x=50, y=50) -> Case:
    lon, lat = lonlat(x, y)
    return case_report(
        source="hotline",
        category_code="E9901",
        lon=lon,
        lat=lat,
        reporter=world["operator"],
        reported_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def media(kind="photo"):
    data = io.BytesIO()
    if kind == "photo":
        Image.new("RGB", (64, 48), (90, 90, 90)).save(data, format="JPEG")
        data.name = "after.jpg"
    else:  # a tiny but real MP4 header (ftyp box) is what the sniffer recognises
        data.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64)
        data.name = "feedback.mp4"
    data.seek(0)
    return data


def step(client, user, case, name, *, files=None, headers=None, **body):
    client.force_login(user)
    url = reverse("case-transition", args=[case.pk, name])
    headers = {"HTTP_ACCEPT_LANGUAGE": "en", **(headers or {})}
    if files is not None:
        return client.post(url, {**body, "files": files}, **(headers or {}))
    return client.post(url, body, content_type="application/json", **(headers or {}))


def clocks(case):
    return {(c.kind, c.outcome) for c in Clock.objects.filter(case=case)}


def test_the_whole_loop_from_report_to_closure(client, world):
    case = new_case(world)
    assert clocks(case) == {("filing", "open")}
    assert step(client, world["operator"], case, "file").status_code == 200
    assert step(client, world["dispatcher"], case, "dispatch", team="TM1").status_code == 200
    lon, lat = lonlat(52, 50)
    assert step(client, world["member"], case, "arrive", lon=lon, lat=lat).status_code == 200
    assert (
        step(client, world["member"], case, "feedback", files=[media("video")]).status_code == 200
    )
    response = step(client, world["leader"], case, "handle", files=[media()], note="清理完毕")
    assert response.status_code == 200, response.content
    assert response.json()["case"]["properties"]["verifier"] == "insp"
    assert step(client, world["inspector"], case, "verify", result="passed").status_code == 200
    response = step(client, world["shift"], case, "close")
    assert response.status_code == 200
    props = response.json()["case"]["properties"]
    assert props["stage"] == "closed" and props["closed_at"]
    assert [e["kind"] for e in props["history"]] == [
        "report",
        "file",
        "dispatch",
        "arrive",
        "feedback",
        "handle",
        "verify",
        "close",
    ]
    assert [(e["from_stage"], e["to_stage"]) for e in props["history"]][1:] == [
        ("reported", "registered"),
        ("registered", "dispatched"),
        ("dispatched", "on_scene"),
        ("on_scene", "on_scene"),
        ("on_scene", "handled"),
        ("handled", "handled"),
        ("handled", "closed"),
    ]
    assert clocks(case) == {
        (k, "met")
        for k in ("filing", "dispatch", "arrival", "feedback", "disposal", "verification")
    }
    arrive = CaseEvent.objects.get(case=case, kind="arrive")
    assert arrive.data["distance_m"] == pytest.approx(2, abs=0.1)
    phases = sorted(e["phase"] for e in props["evidence"])
    assert phases == ["after", "other"]
    assert [c["light"] for c in props["clocks"]] == ["grey"] * 6


def test_a_late_step_marks_its_clock_late(client, world):
    case = new_case(world, minutes_ago=8)  # filing allows 5 minutes
    step(client, world["operator"], case, "file")
    filing = Clock.objects.get(case=case, kind="filing")
    assert filing.outcome == "late" and filing.met_at > filing.due_at


def test_reject_needs_a_reason(client, world):
    case = new_case(world)
    refused = step(client, world["operator"], case, "reject")
    assert refused.status_code == 400 and "note" in refused.json()
    assert step(client, world["operator"], case, "reject", note="重复上报").status_code == 200
    case.refresh_from_db()
    assert case.stage == "rejected" and clocks(case) == {("filing", "met")}


def test_failed_verification_is_rework_that_restarts_arrival_and_disposal(client, world):
    case = new_case(world)
    step(client, world["operator"], case, "file")
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    lon, lat = lonlat(50, 50)
    step(client, world["member"], case, "arrive", lon=lon, lat=lat)
    step(client, world["member"], case, "handle", files=[media()])
    response = step(client, world["inspector"], case, "verify", result="failed", note="仍有垃圾")
    assert response.json()["case"]["properties"]["stage"] == "dispatched"
    kinds = [(c.kind, c.outcome) for c in Clock.objects.filter(case=case).order_by("id")]
    assert kinds[-2:] == [("arrival", "open"), ("disposal", "open")]
    assert ("verification", "met") in kinds
    assert step(client, world["shift"], case, "close").status_code == 409


def test_only_the_assigned_inspector_or_a_shift_leader_verifies(client, world):
    outsider = UserFactory(username="insp3", role=User.Role.INSPECTOR)
    other = UserFactory(username="insp2", role=User.Role.INSPECTOR)
    ZoneFactory(code="PZ2", kind="patrol", geom=rect(0, 0, 400, 300), responsible_user=other)
    case = new_case(world)
    step(client, world["operator"], case, "file")
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    lon, lat = lonlat(50, 50)
    step(client, world["member"], case, "arrive", lon=lon, lat=lat)
    step(client, world["member"], case, "handle", files=[media()])
    assert step(client, outsider, case, "verify", result="passed").status_code == 404
    response = step(client, other, case, "verify", result="passed")  # sees it, not assigned
    assert response.status_code == 403 and "assigned to" in response.json()["detail"]
    assert step(client, world["shift"], case, "close").status_code == 409  # not verified yet
    assert step(client, world["shift"], case, "verify", result="passed").status_code == 200


def test_a_return_is_requested_by_the_team_and_accepted_by_the_dispatcher(client, world):
    case = new_case(world)
    step(client, world["operator"], case, "file")
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    response = step(client, world["member"], case, "return", note="不属于本队辖区")
    assert response.status_code == 202
    approval = response.json()["approval"]
    assert approval["status"] == "pending" and approval["kind"] == "return"
    client.force_login(world["shift"])
    assert client.post(reverse("approval-approve", args=[approval["id"]])).status_code == 403
    client.force_login(world["dispatcher"])
    decided = client.post(reverse("approval-approve", args=[approval["id"]]))
    assert decided.status_code == 200
    case.refresh_from_db()
    assert case.stage == "registered" and case.team is None
    assert ("arrival", "cancelled") in clocks(case) and ("dispatch", "open") in clocks(case)
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["request_return", "approve_return"]


def test_a_stranger_to_the_team_cannot_act_on_its_case(client, world):
    case = new_case(world)
    step(client, world["operator"], case, "file")
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    lon, lat = lonlat(50, 50)
    assert step(client, world["stranger"], case, "arrive", lon=lon, lat=lat).status_code == 404


def test_suspension_pauses_every_clock_and_resumption_keeps_the_time_left(client, world):
    case = new_case(world, minutes_ago=2)
    filing = Clock.objects.get(case=case)
    before = filing.due_at
    response = step(client, world["operator"], case, "suspend", note="等待产权单位确认")
    assert response.status_code == 202
    client.force_login(world["shift"])
    approval_id = response.json()["approval"]["id"]
    assert client.post(reverse("approval-approve", args=[approval_id])).status_code == 200
    filing.refresh_from_db()
    assert filing.paused_at is not None
    assert step(client, world["operator"], case, "file").status_code == 200  # the loop goes on
    filing.refresh_from_db()
    assert filing.outcome == "met" and filing.due_at >= before
    # resumption asked by the shift leader is decided at once (two events)
    response = step(client, world["shift"], case, "resume", note="已确认")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.suspended_at is None
    assert list(case.events.values_list("kind", flat=True))[-2:] == [
        "request_resume",
        "approve_resume",
    ]


def test_an_approved_extension_moves_the_disposal_deadline(client, world):
    case = new_case(world)
    step(client, world["operator"], case, "file")
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    disposal = Clock.objects.get(case=case, kind="disposal")
    response = step(
        client, world["leader"], case, "extend", note="需要吊车", value=2, unit="working_hours"
    )
    client.force_login(world["shift"])
    client.post(reverse("approval-approve", args=[response.json()["approval"]["id"]]))
    moved = Clock.objects.get(pk=disposal.pk)
    from cases.calendar import working_calendar

    assert working_calendar().between(disposal.due_at, moved.due_at) == pytest.approx(7200)
    assert moved.extended_s == 7200


def test_a_refused_request_changes_nothing_but_is_recorded(client, world):
    case = new_case(world)
    response = step(client, world["operator"], case, "void", note="误报")
    approval_id = response.json()["approval"]["id"]
    client.force_login(world["shift"])
    assert client.post(reverse("approval-refuse", args=[approval_id])).status_code == 400
    assert (
        client.post(
            reverse("approval-refuse", args=[approval_id]), {"note": "不是误报"}
        ).status_code
        == 200
    )
    case.refresh_from_db()
    assert case.stage == "reported"
    assert list(case.events.values_list("kind", flat=True)) == [
        "report",
        "request_void",
        "refuse_void",
    ]
    again = client.post(reverse("approval-approve", args=[approval_id]))
    assert again.status_code == 409


def test_void_ends_the_case_and_cancels_its_clocks(client, world):
    case = new_case(world)
    assert step(client, world["shift"], case, "void", note="误报").status_code == 200
    case.refresh_from_db()
    assert case.stage == "void" and clocks(case) == {("filing", "cancelled")}


def test_supervision_flags_the_case_until_the_responsible_unit_replies(client, world):
    case = new_case(world)
    step(client, world["operator"], case, "file")
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    assert step(client, world["commander"], case, "supervise", note="尽快处理").status_code == 200
    client.force_login(world["commander"])
    detail = client.get(reverse("case-detail", args=[case.pk])).json()["properties"]
    assert detail["supervised"] is True
    assert step(client, world["member"], case, "supervise", note="x").status_code == 403
    assert step(client, world["leader"], case, "reply", note="已安排").status_code == 200
    client.force_login(world["commander"])
    detail = client.get(reverse("case-detail", args=[case.pk])).json()["properties"]
    assert detail["supervised"] is False and detail["supervisions"][0]["reply"] == "已安排"
    assert step(client, world["leader"], case, "reply", note="again").status_code == 409


def test_a_duplicate_is_merged_or_kept(client, world):
    first = new_case(world)
    second = new_case(world, x=60)
    assert second.duplicate_of == first
    third = new_case(world, x=55)
    assert step(client, world["operator"], second, "merge").status_code == 200
    second.refresh_from_db()
    assert second.stage == "merged" and second.merged_into == first
    assert step(client, world["operator"], third, "keep").status_code == 200
    third.refresh_from_db()
    assert third.duplicate_of is None and third.stage == "reported"
    assert step(client, world["operator"], third, "keep").status_code == 409


def test_self_disposal_goes_straight_to_the_shift_leaders_verification(client, world):
    lon, lat = lonlat(80, 80)
    from cases.evidence import check_upload

    case = case_report(
        source="self",
        category_code="E9901",
        lon=lon,
        lat=lat,
        reporter=world["inspector"],
        self_disposed=True,
        before=[check_upload(media())],
        after=[check_upload(media())],
    )
    assert case.stage == "handled"
    assert clocks(case) == {("verification", "open")}
    assert sorted(case.evidence.values_list("phase", flat=True)) == ["after", "before"]
    assert step(client, world["shift"], case, "verify", result="passed").status_code == 200
    assert step(client, world["shift"], case, "close").status_code == 200


@pytest.mark.parametrize(
    ("who", "name", "body", "status"),
    [
        ("operator", "dispatch", {"team": "TM1"}, 409),  # still reported: file first
        ("dispatcher", "file", {}, 403),
        ("east_lead", "file", {}, 404),  # another community's case
        ("operator", "teleport", {}, 404),
    ],
)
def test_illegal_wrong_role_and_out_of_area_steps_change_nothing(
    client, world, who, name, body, status
):
    case = new_case(world)
    response = step(client, world[who], case, name, **body)
    assert response.status_code == status
    case.refresh_from_db()
    assert case.stage == "reported"
    assert list(case.events.values_list("kind", flat=True)) == ["report"]
    assert clocks(case) == {("filing", "open")}


def test_bad_input_is_refused_and_nothing_is_written(client, world):
    case = new_case(world)
    step(client, world["operator"], case, "file")
    step(client, world["dispatcher"], case, "dispatch", team="TM1")
    lon, lat = lonlat(50, 50)
    early = (case.reported_at - timedelta(minutes=1)).isoformat()
    response = step(client, world["member"], case, "arrive", lon=lon, lat=lat, at=early)
    assert response.status_code == 400 and "before the case's previous event" in str(
        response.json()
    )
    assert step(client, world["member"], case, "arrive").status_code == 400  # no position
    key = {"HTTP_IDEMPOTENCY_KEY": "tap-1"}
    assert (
        step(client, world["member"], case, "arrive", lon=lon, lat=lat, headers=key).status_code
        == 200
    )
    pdf = io.BytesIO(b"%PDF-1.4 not a video")
    pdf.name = "feedback.mp4"
    response = step(client, world["member"], case, "feedback", files=[pdf], headers=key)
    assert response.status_code == 400 and "not a photo" in str(response.json())
    response = step(client, world["member"], case, "feedback", files=[media("video")], headers=key)
    assert response.status_code == 409 and "already recorded" in str(response.json())
    assert list(case.events.values_list("kind", flat=True)) == [
        "report",
        "file",
        "dispatch",
        "arrive",
    ]
    assert ApprovalRequest.objects.count() == 0
