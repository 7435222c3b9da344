"""Comparing a signature a caller sent, whatever characters it sent.

A header or query value is any text, and `hmac.compare_digest` raises TypeError on non-ASCII
`str`. Its timestamp is read with functions.core.clock.unix_seconds.
"""

from __future__ import annotations

import hmac


def matches(expected: str, supplied: str | None) -> bool:
    """Whether `supplied` equals the signature we computed, compared in constant time."""
    if supplied is None:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode("utf-8", "surrogatepass"))
