"""What every race test needs to count answers, not transport luck, on a loaded 2-core machine.

A race test starts many threads at once against the moto server of this test process, which
serialises DynamoDB requests and shares the GIL with the racers, so a request can queue for
seconds. Two things keep the outcome about the invariant rather than the machine:

- the `patient_clients` fixture (tests/conftest.py) gives the clients timeouts suited to that
  queue (PATIENT_TIMEOUT_S) instead of the production ones tuned for AWS;
- a racer sends the same idempotent request again after a transport failure (a timeout, a
  reset, a 5xx or `503 unavailable`) until it gets an answer, as a POS terminal, an H5 page or
  WeChat does, bounded by a generous deadline (DEADLINE_S) rather than a number of attempts.
  A refusal (`409 slot_full`, ...) is an answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import requests
from botocore.exceptions import BotoCoreError, ClientError

from functions.core.errors import AppError, Unavailable

T = TypeVar("T")
R = TypeVar("R")

PATIENT_TIMEOUT_S = (10, 60)  # connect, read
DEADLINE_S = 300.0  # per racer: never reached by a healthy run, however loaded the machine
RETRYABLE_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


def transport_failure(error: BaseException) -> bool:
    """Whether `error` (or what it wraps: PynamoDB's `cause`, `__cause__`, `__context__`) says the
    request got no answer, rather than an answer the app gave."""
    pending: list[BaseException | None] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Unavailable | BotoCoreError | ConnectionError | TimeoutError):
            return True
        if isinstance(current, requests.ConnectionError | requests.Timeout):
            return True
        if isinstance(current, ClientError):
            error_info = current.response.get("Error", {})
            status = current.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if error_info.get("Code") in RETRYABLE_CODES or status >= 500:
                return True
        pending += [getattr(current, "cause", None), current.__cause__, current.__context__]
    return False


@dataclass
class Answer(Generic[T]):
    """A racer's answer: the call's result, or the domain error it was refused with."""

    value: T | None = None
    refusal: AppError | None = None
    retries: int = 0  # transport failures before the answer (each may have taken effect unseen)

    @property
    def code(self) -> str:
        """ "ok", or the refusal's code."""
        return self.refusal.code if self.refusal is not None else "ok"


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))


def ask(call: Callable[[], T], deadline_s: float = DEADLINE_S) -> Answer[T]:
    """Call `call` until it answers (a result or a domain refusal); after a transport failure the
    same request is sent again. Fails the test only if no answer comes within `deadline_s`."""
    give_up = time.monotonic() + deadline_s
    retries = 0
    while True:
        try:
            return Answer(value=call(), retries=retries)
        except AppError as error:
            if not transport_failure(error):
                return Answer(refusal=error, retries=retries)
            last: BaseException = error
        except Exception as error:
            if not transport_failure(error):
                raise
            last = error
        if time.monotonic() > give_up:
            raise AssertionError(
                f"no answer in {deadline_s:g} s after {retries + 1} tries: {last!r}"
            ) from last
        _backoff(retries)
        retries += 1


def ask_http(
    send: Callable[[], R],
    status: Callable[[R], int] = lambda response: response.status_code,  # type: ignore[attr-defined]
    deadline_s: float = DEADLINE_S,
) -> R:
    """`send()` (an HTTP call) until it answers below 500, as WeChat or Kuaidi100 re-deliver:
    a 5xx or a transport failure means no answer yet, and the same request goes again."""
    give_up = time.monotonic() + deadline_s
    attempt = 0
    while True:
        try:
            response = send()
            if status(response) < 500:
                return response
            last: object = f"HTTP {status(response)}: {response!r}"
        except Exception as error:
            if not transport_failure(error):
                raise
            last = error
        if time.monotonic() > give_up:
            raise AssertionError(f"no answer in {deadline_s:g} s after {attempt + 1} tries: {last}")
        _backoff(attempt)
        attempt += 1
