"""Working time: weekends, Chinese public holidays, adjusted working Saturdays, working hours."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from cases.calendar import WorkingCalendar, parse_working_hours

SH = ZoneInfo("Asia/Shanghai")
CN = WorkingCalendar(periods=parse_working_hours("08:30-12:00,14:00-18:00"), country="CN", tz=SH)


def at(*args):
    return datetime(*args, tzinfo=SH)


def test_working_hours_are_parsed_and_checked():
    assert CN.day_seconds == 7.5 * 3600
    for bad in ["8-12", "12:00-08:30", "08:00-12:00,11:00-13:00"]:
        with pytest.raises(ValueError):
            parse_working_hours(bad)


def test_a_plain_week_skips_the_lunch_break_and_the_night():
    # Tue 10 Nov 2026, 11:00 + 2 working hours: 1 h to noon, 1 h after lunch → 15:00
    assert CN.add(at(2026, 11, 10, 11, 0), 2 * 3600) == at(2026, 11, 10, 15, 0)
    # 17:00 + 2 h: 1 h today, 1 h tomorrow from 08:30 → 09:30
    assert CN.add(at(2026, 11, 10, 17, 0), 2 * 3600) == at(2026, 11, 11, 9, 30)
    # started at night: counted from the next morning
    assert CN.add(at(2026, 11, 10, 22, 0), 3600) == at(2026, 11, 11, 9, 30)


def test_across_a_weekend():
    # Fri 13 Nov 2026 17:00 + 2 h → Mon 16 Nov 09:30
    assert CN.add(at(2026, 11, 13, 17, 0), 2 * 3600) == at(2026, 11, 16, 9, 30)
    assert CN.between(at(2026, 11, 13, 17, 0), at(2026, 11, 16, 9, 30)) == 2 * 3600


def test_across_the_spring_festival_with_its_adjusted_working_saturday():
    # 2026: Sat 14 Feb is an adjusted working day; 15 Feb (Sun) off; 16–23 Feb holidays;
    # Sat 28 Feb an adjusted working day.
    assert CN.is_working_day(date(2026, 2, 14))
    assert not CN.is_working_day(date(2026, 2, 15))
    assert not any(CN.is_working_day(date(2026, 2, d)) for d in range(16, 24))
    assert CN.is_working_day(date(2026, 2, 24))
    # 4 working hours from Fri 13 Feb 16:00: 2 h on Friday, 2 h on the working Saturday
    assert CN.add(at(2026, 2, 13, 16, 0), 4 * 3600) == at(2026, 2, 14, 10, 30)
    # 1 working day (7.5 h) from Sat 14 Feb 14:00: 4 h that afternoon, 3.5 h on Tue 24 Feb
    assert CN.add(at(2026, 2, 14, 14, 0), 7.5 * 3600) == at(2026, 2, 24, 12, 0)


def test_an_admin_exception_overrides_the_package():
    calendar = WorkingCalendar(
        periods=CN.periods,
        country="CN",
        tz=SH,
        exceptions=((date(2026, 11, 11), False), (date(2026, 11, 14), True)),
    )
    assert not calendar.is_working_day(date(2026, 11, 11))
    assert calendar.is_working_day(date(2026, 11, 14))  # a Saturday made a working day
    assert calendar.add(at(2026, 11, 10, 17, 0), 2 * 3600) == at(2026, 11, 12, 9, 30)


def test_another_country_and_working_hours():
    germany = WorkingCalendar(
        periods=parse_working_hours("09:00-17:00"), country="DE", tz=ZoneInfo("Europe/Berlin")
    )
    berlin = ZoneInfo("Europe/Berlin")
    # Thu 24 Dec 2026 16:00 + 2 h: 1 h on Christmas Eve (a working day in the package), then
    # 25 and 26 Dec are holidays and the 27th a Sunday → Mon 28 Dec 10:00
    assert germany.add(datetime(2026, 12, 24, 16, 0, tzinfo=berlin), 2 * 3600) == datetime(
        2026, 12, 28, 10, 0, tzinfo=berlin
    )
