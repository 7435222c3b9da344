"""The rules of warranty dates and serial numbers, as properties over every input."""

from __future__ import annotations

import calendar
from datetime import date

from hypothesis import assume, example, given
from hypothesis import strategies as st

from functions.warranty.dates import add_months, start_date, warranty_until
from functions.warranty.serials import normalise

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
months = st.integers(min_value=0, max_value=600)


def test_examples_clamp_to_the_months_end():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 3, 15), 24) == date(2026, 3, 15)
    assert add_months(date(2024, 12, 31), 0) == date(2024, 12, 31)


@given(days, months)
@example(date(2024, 1, 31), 1)
def test_the_end_is_that_many_calendar_months_later_on_the_same_day_or_the_months_last(start, n):
    end = add_months(start, n)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == n
    last = calendar.monthrange(end.year, end.month)[1]
    assert end.day == min(start.day, last)
    assert end >= start


@given(days, months, months)
def test_months_add_up_when_no_day_is_clamped(start, a, b):
    assume(start.day <= 28)
    assert add_months(add_months(start, a), b) == add_months(start, a + b)


@given(days, days, months)
def test_a_later_start_never_ends_earlier(one, other, n):
    early, late = sorted((one, other))
    assert add_months(early, n) <= add_months(late, n)


@given(st.lists(st.one_of(st.none(), days), min_size=4, max_size=4))
def test_the_start_is_the_first_date_that_exists_in_the_contracts_order(candidates):
    installed, purchased, ordered, registered = candidates
    expected = next((d for d in candidates if d is not None), None)
    assert start_date(installed, purchased, ordered, registered) == expected


def test_no_months_or_no_start_means_no_warranty_end():
    assert warranty_until(None, 12) is None
    assert warranty_until(date(2024, 1, 1), None) is None


# -- serials ----------------------------------------------------------------------------

serial_chars = st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz0123456789-._:")
serials = st.text(serial_chars, min_size=1, max_size=40)


def full_width(text: str) -> str:
    """What a Chinese input method types: ASCII as its full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(serials)
def test_normalising_is_idempotent_and_upper_case(serial):
    once = normalise(serial)
    assert normalise(once) == once
    assert once == serial.upper()


@given(serials)
def test_full_width_characters_read_as_their_ascii(serial):
    assert normalise(full_width(serial)) == normalise(serial)


@given(serials, st.lists(st.tuples(st.integers(0, 40), st.sampled_from([" ", "\t", "\u3000", "\n"]))))
def test_spaces_anywhere_are_ignored(serial, inserts):
    spaced = serial
    for at, space in inserts:
        spaced = spaced[:at] + space + spaced[at:]
    assert normalise(spaced) == normalise(serial)


@given(serials)
def test_case_never_matters(serial):
    assert normalise(serial.lower()) == normalise(serial.upper()) == normalise(serial.swapcase())
