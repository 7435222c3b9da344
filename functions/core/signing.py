"""Reading what a signed caller sends in its headers, whatever characters it sends.

A header or query value is any text: `hmac.compare_digest` raises TypeError on non-ASCII `str`,
and `"²".isdigit()` is true while `int("²")` raises. These two helpers never raise.
"""

from __future__ import annotations

import hmac

MAX_TIMESTAMP_DIGITS = 12  # unix seconds until the year 33658


def matches(expected: str, supplied: str | None) -> bool:
    """Whether `supplied` equals the signature we computed, compared in constant time."""
    if supplied is None:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode("utf-8", "surrogatepass"))


def unix_seconds(text: str | None) -> int | None:
    """`text` as unix seconds if it is 1-12 ASCII digits, else None."""
    if not text or len(text) > MAX_TIMESTAMP_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
