"""Coupon codes: 80 random bits from `secrets`, written in Crockford base32, grouped by four.

"7KQ2-M9XH-3DTA-VW0C": 16 symbols x 5 bits = 80 bits. The alphabet has no I, L, O or U, so a
clerk cannot confuse 1/I/L or 0/O, and reading it back is forgiving: case, dashes and spaces
are ignored and I/L -> 1, O -> 0 (Crockford's decoding rules). Code 128 barcodes and QR codes
carry it as is.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SYMBOLS = 16
BITS = SYMBOLS * 5  # 80
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_VALID = frozenset(ALPHABET)


def new_code() -> str:
    """A fresh canonical code (16 symbols, no dashes)."""
    value = secrets.randbits(BITS)
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(SYMBOLS)))


def display(code: str) -> str:
    """ "ABCDEFGHJKMNPQRS" -> "ABCD-EFGH-JKMN-PQRS"."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(text: str) -> str | None:
    """The canonical form of what a clerk typed or scanned, or None if it cannot be a code."""
    if not isinstance(text, str):
        return None
    cleaned = text.strip().upper().replace("-", "").replace(" ", "").translate(_ALIASES)
    if len(cleaned) != SYMBOLS or not set(cleaned) <= _VALID:
        return None
    return cleaned
