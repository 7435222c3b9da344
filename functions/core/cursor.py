"""Page cursors: the position a list stopped at, as opaque URL-safe text (`fields.Cursor`).

Each capability decides what a position is (a sort key, an openid, an index's start key) and
checks a decoded one is a position it could have given; a cursor that does not decode is
`400 invalid_cursor`, like one that fails that check.
"""

from __future__ import annotations

import base64
import binascii

from functions.core.errors import InvalidInput


def encode(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused() from None


def refused() -> InvalidInput:
    return InvalidInput("cursor is not one this API gave", code="invalid_cursor")
