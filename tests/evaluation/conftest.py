"""A small case history built through the real loop services, with explicit times, whose
indicators are computed by hand in tests/evaluation/test_indicators.py.

The small district of tests/factories.py: west community C1 (x 0..200) is patrol zone PZ1 of
inspector ``insp``; (40, 145) lies in frontage zone F1 (张记面馆); (250, 50) lies in the east
community C2, outside every patrol zone. Category E9901: 4 working hours to dispose; working
hours 08:30–12:00 and 14:00–18:00; 2026-10-01..07 is the National Day holiday.

All times local (Asia/Shanghai), September–October 2026:

====  ======================  =============================================================
case  source, where           history
====  ======================  =============================================================
A     hotline (40, 145) F1    15 Sep 09:00 report, 09:03 file, 09:03:30 dispatch, 09:10
                              arrive, 09:12 feedback, 11:00 handle, 11:30 verify passed,
                              11:40 close
B     camera (50, 50)         30 Sep 16:00 report, 16:02 file, 16:02:30 dispatch, 16:10
                              arrive, 16:11 feedback, 8 Oct 10:00 handle (due 8 Oct 10:32:30
                              over the holiday), 10:30 verify, 10:40 close
C     camera (60, 50)         16 Sep 09:00 report, 09:02 file, 09:02:30 dispatch (due 15:02:30),
                              09:08 arrive, 09:10 feedback, 09:30 suspend (挂账), 17 Sep
                              09:30 resume (due 17 Sep 15:02:30), 14:00 handle, 14:30 verify,
                              14:40 close
D     camera (70, 50)         21 Sep 09:00 report, 09:01 file, 09:01:30 dispatch, 09:20
                              arrive (late), 09:22 feedback, 10:00 handle, 10:30 verify failed
                              (返工), 10:35 arrive, 10:36 feedback, 11:00 handle, 11:30 verify,
                              11:40 close
E     hotline (250, 50) C2    22 Sep 09:00 report, 09:02 file, 09:10 void (作废)
F     public (50, 60)         23 Sep 09:00 report, 09:10 file (late), 09:10:30 dispatch; then
                              nothing (arrival and disposal overdue, still open)
G     inspector (55, 60)      23 Sep 08:30 report by insp, 08:34 reject
====  ======================  =============================================================
"""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from PIL import Image

from cases.evidence import check_upload
from cases.loop import Step, transition_apply
from cases.services import case_report
from gridmap.models import User
from tests.factories import CategoryFactory, UserFactory, ZoneFactory, lonlat, rect, small_district

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the source strings), whatever LANGUAGE_CODE says."""
    with translation.override("en"):
        yield


def at(month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


def photo():
    data = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 90, 90)).save(data, format="JPEG")
    data.name = "after.jpg"
    data.seek(0)
    return check_upload(data)


class History:
    """The people and a ``go`` helper applying one step at a given time."""

    def __init__(self, area: dict) -> None:
        self.area = area
        team = area["team"]
        self.operator = UserFactory(username="op", role=User.Role.OPERATOR)
        self.shift = UserFactory(username="shift", role=User.Role.SHIFT_LEADER)
        self.dispatcher = UserFactory(username="disp", role=User.Role.DISPATCHER)
        self.member = UserFactory(username="mem1", role=User.Role.FIELD_MEMBER, team=team)
        self.inspector = UserFactory(username="insp", role=User.Role.INSPECTOR)
        self.evaluator = UserFactory(username="eval", role=User.Role.EVALUATOR)
        ZoneFactory(
            code="PZ1", kind="patrol", geom=rect(0, 0, 200, 300), responsible_user=self.inspector
        )
        self.category = CategoryFactory(code="E9901", minor_name="暴露垃圾")
        self.cases = {}

    def report(self, name, source, x, y, when, reporter=None):
        lon, lat = lonlat(x, y)
        case = case_report(
            source=source,
            category_code="E9901",
            lon=lon,
            lat=lat,
            reporter=reporter or self.operator,
            reported_at=when,
        )
        self.cases[name] = case
        return case

    def go(self, name, transition, actor, when, **params):
        case = self.cases[name]
        step = Step(at=when, params=params, note=params.pop("note", ""))
        if transition in ("arrive",):
            step.lon, step.lat = lonlat(*self.where_of(case))
        if transition in ("feedback", "handle"):
            step.files = [photo()]
        return transition_apply(case_id=case.pk, name=transition, actor=actor, step=step)

    def where_of(self, case):
        return self._where[case.pk]

    def loop(self, name, steps):
        for transition, actor, when, *params in steps:
            self.go(name, transition, actor, when, **(params[0] if params else {}))


@pytest.fixture
def history(db):
    h = History(small_district())
    h._where = {}
    op, shift, disp, mem, insp = h.operator, h.shift, h.dispatcher, h.member, h.inspector

    def report(name, source, x, y, when, reporter=None):
        case = h.report(name, source, x, y, when, reporter)
        h._where[case.pk] = (x, y)

    report("A", "hotline", 40, 145, at(9, 15, 9, 0))
    h.loop(
        "A",
        [
            ("file", op, at(9, 15, 9, 3)),
            ("dispatch", disp, at(9, 15, 9, 3, 30), {"team": "TM1"}),
            ("arrive", mem, at(9, 15, 9, 10)),
            ("feedback", mem, at(9, 15, 9, 12)),
            ("handle", mem, at(9, 15, 11, 0)),
            ("verify", insp, at(9, 15, 11, 30), {"result": "passed"}),
            ("close", shift, at(9, 15, 11, 40)),
        ],
    )
    report("B", "camera", 50, 50, at(9, 30, 16, 0))
    h.loop(
        "B",
        [
            ("file", op, at(9, 30, 16, 2)),
            ("dispatch", disp, at(9, 30, 16, 2, 30), {"team": "TM1"}),
            ("arrive", mem, at(9, 30, 16, 10)),
            ("feedback", mem, at(9, 30, 16, 11)),
            ("handle", mem, at(10, 8, 10, 0)),
            ("verify", insp, at(10, 8, 10, 30), {"result": "passed"}),
            ("close", shift, at(10, 8, 10, 40)),
        ],
    )
    report("C", "camera", 60, 50, at(9, 16, 9, 0))
    h.loop(
        "C",
        [
            ("file", op, at(9, 16, 9, 2)),
            ("dispatch", disp, at(9, 16, 9, 2, 30), {"team": "TM1"}),
            ("arrive", mem, at(9, 16, 9, 8)),
            ("feedback", mem, at(9, 16, 9, 10)),
            ("suspend", shift, at(9, 16, 9, 30), {"note": "等待产权单位确认"}),
            ("resume", shift, at(9, 17, 9, 30), {"note": "已确认"}),
            ("handle", mem, at(9, 17, 14, 0)),
            ("verify", insp, at(9, 17, 14, 30), {"result": "passed"}),
            ("close", shift, at(9, 17, 14, 40)),
        ],
    )
    report("D", "camera", 70, 50, at(9, 21, 9, 0))
    h.loop(
        "D",
        [
            ("file", op, at(9, 21, 9, 1)),
            ("dispatch", disp, at(9, 21, 9, 1, 30), {"team": "TM1"}),
            ("arrive", mem, at(9, 21, 9, 20)),
            ("feedback", mem, at(9, 21, 9, 22)),
            ("handle", mem, at(9, 21, 10, 0)),
            ("verify", insp, at(9, 21, 10, 30), {"result": "failed", "note": "未清理干净"}),
            ("arrive", mem, at(9, 21, 10, 35)),
            ("feedback", mem, at(9, 21, 10, 36)),
            ("handle", mem, at(9, 21, 11, 0)),
            ("verify", insp, at(9, 21, 11, 30), {"result": "passed"}),
            ("close", shift, at(9, 21, 11, 40)),
        ],
    )
    report("E", "hotline", 250, 50, at(9, 22, 9, 0))
    h.loop(
        "E",
        [
            ("file", op, at(9, 22, 9, 2)),
            ("void", shift, at(9, 22, 9, 10), {"note": "重复上报"}),
        ],
    )
    report("F", "public", 50, 60, at(9, 23, 9, 0))
    h.loop(
        "F",
        [
            ("file", op, at(9, 23, 9, 10)),
            ("dispatch", disp, at(9, 23, 9, 10, 30), {"team": "TM1"}),
        ],
    )
    report("G", "inspector", 55, 60, at(9, 23, 8, 30), reporter=insp)
    h.loop("G", [("reject", op, at(9, 23, 8, 34), {"note": "不属于城管范围"})])
    return h
