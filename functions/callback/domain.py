"""Handle one verified WeChat message: route it, then commit its effects exactly once."""

from __future__ import annotations

from functions.callback import storage
from functions.callback.message import Message
from functions.callback.rules import RULES, Rule, route
from functions.core import txn

RUNS = 2  # a handler whose reads went stale meanwhile (Outcome.rerun_on) is run once more


def process(message: Message, rules: tuple[Rule, ...] = RULES) -> str | None:
    """The reply text for `message` (None = `success`), its effects committed once.

    A redelivery (same dedupe key) changes nothing and gets the reply stored with the
    first delivery's effects.
    """
    handler = route(message, rules).handler
    for run in range(RUNS):
        outcome = handler(message)
        if outcome.effects is None:
            return outcome.reply
        try:
            return storage.commit_once(message.dedupe_key, outcome.reply, outcome.effects)
        except txn.Cancelled as cancelled:
            stale = any(cancelled.failed(label) for label in outcome.rerun_on)
            if not stale or run == RUNS - 1:
                raise
    raise AssertionError("unreachable")
