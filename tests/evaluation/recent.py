"""Cases of last month and of this month so far, for the pages that show "this month" (the
community page's figures, the unit view's latest months), whatever day the tests run on.

East community C2 (x 200..400) closes its case each month within the hour; west community C1
(x 0..200) files its case and leaves it open, so the east ranks first of two.
"""

from datetime import timedelta

from django.utils import timezone

from tests.evaluation.conftest import History
from tests.factories import small_district


def _lap(h: History, name: str, x: float, y: float, start, span: timedelta, *, close: bool):
    case = h.report(name, "hotline", x, y, start)
    h._where[case.pk] = (x, y)
    op, shift, disp, mem, insp = h.operator, h.shift, h.dispatcher, h.member, h.inspector
    steps = [("file", op, 0.1), ("dispatch", disp, 0.15, {"team": "TM1"})]
    if close:
        steps += [
            ("arrive", mem, 0.3),
            ("feedback", mem, 0.35),
            ("handle", mem, 0.6),
            ("verify", insp, 0.8, {"result": "passed"}),
            ("close", shift, 0.9),
        ]
    h.loop(name, [(t, who, start + span * f, *rest) for t, who, f, *rest in steps])


def recent_history() -> History:
    """The small district with one closed east case and one open west case in each of last
    month and this month."""
    h = History(small_district())
    h._where = {}
    now = timezone.localtime()
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (first - timedelta(days=1)).replace(day=10, hour=9)
    _lap(h, "last-east", 250, 50, last, timedelta(hours=1), close=True)
    _lap(h, "last-west", 50, 50, last, timedelta(hours=1), close=False)
    elapsed = (now - first) * 0.9
    _lap(h, "this-east", 250, 60, first + elapsed * 0.05, elapsed * 0.9, close=True)
    _lap(h, "this-west", 60, 50, first + elapsed * 0.05, elapsed * 0.9, close=False)
    return h
