"""A request's time budget: work that cannot finish inside it is not started.

The WeChat callback must answer within WeChat's 5 s, and must never answer while a write is
still in flight: a Lambda is frozen once it has answered, so a write left running on another
thread may never land, or land minutes later. So the callback does its storage on the request's
own thread, inside `within(seconds)`, and every DynamoDB attempt (retries included) first calls
`require` with its worst case (connect + read timeout, see functions.core.models): an attempt
that could end past the deadline is refused with DeadlineExceeded instead of being sent. When
the callback answers, every attempt it made has returned or failed, and the answer comes before
the deadline. Outside `within`, nothing is ever refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from functions.core.errors import Unavailable

_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


class DeadlineExceeded(Unavailable):
    """Work refused because it could not finish before the request's deadline."""

    code = "deadline_exceeded"


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Run the block with a deadline `seconds` from now (the earlier one wins when nested)."""
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(end, outer))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the deadline (negative once past), or None outside `within`."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def require(seconds: float, what: str) -> None:
    """Refuse `what`, which may take up to `seconds`, unless it ends before the deadline."""
    left = remaining()
    if left is not None and left < seconds:
        raise DeadlineExceeded(
            f"{what} could take {seconds:.1f} s and only {max(left, 0):.2f} s are left before the deadline"
        )
