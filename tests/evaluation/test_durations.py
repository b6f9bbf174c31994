"""A stopped clock keeps how long it ran (``Clock.duration_s``): the loop writes it when the
clock stops, ``cases.durations.durations_fill`` computes the same in SQL for rows written in
bulk (archive imports, the migration that added the column).

By hand (working hours 08:30–12:00, 14:00–18:00; 1–7 Oct 2026 a holiday):
- B's disposal: dispatched 30 Sep 16:02:30, handled 8 Oct 10:00 → 16:02:30–18:00 (7,050 s) +
  8 Oct 08:30–10:00 (5,400 s) = 12,450 working seconds: the holiday week does not count.
- C's disposal: dispatched 16 Sep 09:02:30, suspended (挂账) 09:30 to 17 Sep 09:30, handled
  17 Sep 14:00 → 09:02:30–09:30 (1,650 s) + 17 Sep 09:30–12:00 (9,000 s) = 10,650 s.
- D's first arrival: dispatched 21 Sep 09:01:30, arrived 09:20 → 1,110 wall-clock seconds.
"""

import pytest

from cases.durations import durations_fill
from cases.models import Clock

pytestmark = pytest.mark.django_db


def durations(history) -> dict:
    names = {case.pk: name for name, case in history.cases.items()}
    return {
        (names[k.case_id], k.kind, k.started_at): k.duration_s
        for k in Clock.objects.filter(outcome__in=["met", "late"])
    }


def first(history, name, kind) -> int:
    clocks = Clock.objects.filter(case=history.cases[name], kind=kind).order_by("started_at")
    return clocks.first().duration_s


def test_the_loop_writes_each_stopped_clocks_duration(history):
    assert first(history, "B", "disposal") == 12_450
    assert first(history, "C", "disposal") == 10_650
    assert first(history, "D", "arrival") == 1_110
    assert not Clock.objects.filter(outcome="open").exclude(duration_s=None).exists()
    assert not Clock.objects.filter(outcome="cancelled").exclude(duration_s=None).exists()


def test_sql_fill_gives_what_the_loop_gave(history):
    by_loop = durations(history)
    assert len(by_loop) > 20 and None not in by_loop.values()
    Clock.objects.update(duration_s=None)
    assert durations_fill(case_ids=[history.cases["B"].pk]) == len(
        [key for key in by_loop if key[0] == "B"]
    )
    assert first(history, "B", "disposal") == 12_450
    assert durations_fill() == len(by_loop) - len([key for key in by_loop if key[0] == "B"])
    assert durations(history) == by_loop
    assert durations_fill() == 0  # nothing left to fill
