"""Handle one verified WeChat message: route it, then commit its effects exactly once."""

from __future__ import annotations

from functions.callback import storage
from functions.callback.message import Message
from functions.callback.rules import RULES, Rule, route


def process(message: Message, rules: tuple[Rule, ...] = RULES) -> str | None:
    """The reply text for `message` (None = `success`), its effects committed once.

    A redelivery (same dedupe key) changes nothing and gets the reply stored with the
    first delivery's effects.
    """
    outcome = route(message, rules).handler(message)
    if outcome.effects is None:
        return outcome.reply
    return storage.commit_once(message.dedupe_key, outcome.reply, outcome.effects)
