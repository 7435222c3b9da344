"""The race tests' helper (tests/races.py): a racer retries the same request after a transport
failure until it is answered; a refusal is an answer; anything else is a bug and surfaces."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ReadTimeoutError
from pynamodb.exceptions import PutError

from functions.core.errors import Conflict, Unavailable
from tests.races import ask, ask_http, transport_failure


def flaky(failures: list[BaseException], answer: object = "ok"):
    """A call that raises each of `failures` once, then answers."""
    pending = list(failures)

    def call() -> object:
        if pending:
            raise pending.pop(0)
        return answer

    return call


def test_transport_failures_are_recognised_through_pynamodbs_wrapping():
    timeout = ReadTimeoutError(endpoint_url="http://127.0.0.1:5000")
    assert transport_failure(PutError("Failed to put item", timeout))
    assert transport_failure(ConnectionResetError())
    assert transport_failure(requests.ConnectionError())
    assert transport_failure(Unavailable("try later"))
    assert not transport_failure(Conflict("no", code="slot_full"))
    assert not transport_failure(ValueError("a bug"))


def test_a_racer_asks_again_until_answered_and_counts_the_failures():
    answer = ask(flaky([ConnectionResetError(), Unavailable("busy")], answer=42))
    assert (answer.value, answer.code, answer.retries) == (42, "ok", 2)


def test_a_refusal_is_an_answer():
    answer = ask(flaky([ConnectionResetError(), Conflict("full", code="slot_full")]))
    assert (answer.code, answer.retries) == ("slot_full", 1)


def test_a_bug_is_not_retried():
    with pytest.raises(ValueError):
        ask(flaky([ValueError("a bug")]))


def test_no_answer_within_the_deadline_fails_the_test():
    def never() -> None:
        raise ConnectionResetError()

    with pytest.raises(AssertionError, match="no answer"):
        ask(never, deadline_s=0.2)


def test_http_5xx_is_no_answer_yet():
    class Response:
        def __init__(self, status_code: int) -> None:
            self.status_code = status_code

    replies = [Response(503), Response(500), Response(409)]
    assert ask_http(lambda: replies.pop(0)).status_code == 409
