"""Coupon codes: unguessable (80 random bits) and forgiving to type."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from functions.coupons import codes


def test_a_code_has_80_bits_in_four_groups_of_crockford_base32():
    code = codes.new_code()
    shown = codes.display(code)
    assert codes.BITS >= 64
    assert len(code) == 16 and set(code) <= set(codes.ALPHABET)
    assert [len(g) for g in shown.split("-")] == [4, 4, 4, 4]


def test_codes_do_not_repeat():
    assert len({codes.new_code() for _ in range(20000)}) == 20000


@given(st.integers(min_value=0, max_value=2**80 - 1))
def test_what_a_clerk_types_reads_back_to_the_same_code(value):
    code = "".join(codes.ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(16)))
    shown = codes.display(code)
    assert codes.normalize(shown) == code
    assert codes.normalize(shown.lower().replace("-", " ")) == code
    assert codes.normalize(" " + shown.replace("0", "o").replace("1", "l") + " ") == code


@given(st.text(max_size=30))
def test_anything_else_is_not_a_code(text):
    normalized = codes.normalize(text)
    assert normalized is None or (len(normalized) == 16 and set(normalized) <= set(codes.ALPHABET))


def test_symbols_outside_the_alphabet_are_refused():
    assert codes.normalize("ABCD-EFGH-JKMN-PQRU") is None  # U is not Crockford
    assert codes.normalize("ABCD-EFGH-JKMN") is None
