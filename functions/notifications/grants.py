"""The subscribe-notification ledger: how many one-time grants a follower gave each template.

A follower accepts a template in the H5 page's `wx-open-subscribe` popup; WeChat tells our
callback (`subscribe_msg_popup_event`, one `List` per template, `accept` or `reject`), and every
accepted template adds one grant. A `subscribe_msg_change_event` with `reject` (the follower
turned the template off in WeChat's settings) takes every grant of it away. The callback
commits these as items of its transaction with the dedupe record (`grant_ops`), so a callback
WeChat delivers three times grants once.

Each send uses one grant, in the worker's claim transaction (`use_op`: the count must be above
zero); a send that does not go out after all (WeChat refused it, or it is retried later) gives
its grant back in the transaction that records that outcome (`refund_op`). No grant: the claim
is refused and the message is `skipped:no_grant`. A worker that dies between its claim and its
outcome keeps the grant it took (the next attempt takes another): grants err towards not
sending, never towards a send WeChat would refuse.

Row (notifications table): pk "GRANT#<openid>", sk "TPL#<template id>", count, updated_at.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core import clock, txn
from functions.core.models import TableMeta

ACCEPT, REJECT = "accept", "reject"


class GrantRow(Model):
    class Meta(TableMeta):
        table = "notifications"

    pk = UnicodeAttribute(hash_key=True)  # GRANT#<openid>
    sk = UnicodeAttribute(range_key=True)  # TPL#<template id>
    count = NumberAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


def _row(openid: str, template_id: str) -> GrantRow:
    return GrantRow(f"GRANT#{openid}", f"TPL#{template_id}")


def grant_ops(openid: str, choices: list[tuple[str, str, bool]]) -> list[txn.Op]:
    """The ledger's changes for one callback: `choices` are (template id, status, from a popup).
    A popup's accept adds one grant; a reject in the settings (change event) removes them all."""
    at = clock.iso(clock.now())
    ops = []
    for i, (template_id, status, popup) in enumerate(dict.fromkeys(choices)):
        if status == ACCEPT and popup:
            actions = [GrantRow.count.add(1), GrantRow.updated_at.set(at)]
        elif status == REJECT and not popup:
            actions = [GrantRow.count.set(0), GrantRow.updated_at.set(at)]
        else:
            continue  # a rejected popup, or a settings change that allows again: no grant
        ops.append(txn.update(f"grant#{i}", _row(openid, template_id), actions))
    return ops


def use_op(openid: str, template_id: str) -> txn.Op:
    """Take one grant (label "grant"); the transaction is refused when there is none."""
    return txn.update(
        "grant",
        _row(openid, template_id),
        [GrantRow.count.add(-1), GrantRow.updated_at.set(clock.iso(clock.now()))],
        condition=GrantRow.count > 0,
    )


def refund_op(openid: str, template_id: str) -> txn.Op:
    """Give back the grant a send took and did not use (label "grant")."""
    return txn.update(
        "grant",
        _row(openid, template_id),
        [GrantRow.count.add(1), GrantRow.updated_at.set(clock.iso(clock.now()))],
    )


def grants(openid: str, template_id: str) -> int:
    """How many sends of `template_id` to `openid` are allowed now (tests and ops)."""
    try:
        row = GrantRow.get(f"GRANT#{openid}", f"TPL#{template_id}", consistent_read=True)
    except GrantRow.DoesNotExist:
        return 0
    return int(row.count or 0)


def choices_of(fields: dict[str, Any], element: str) -> list[tuple[str, str]]:
    """(template id, status) of each `<List>` under `element` of a callback's XML fields."""
    container = fields.get(element)
    if not isinstance(container, dict):
        return []
    items = container.get("List")
    items = items if isinstance(items, list) else [items]
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        template_id = str(item.get("TemplateId") or "").strip()
        status = str(item.get("SubscribeStatusString") or "").strip().lower()
        if template_id and status in (ACCEPT, REJECT):
            found.append((template_id, status))
    return found


def sent_reports(fields: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(msgid, delivered, WeChat's status) of each `<List>` of a subscribe_msg_sent_event."""
    container = fields.get("SubscribeMsgSentEvent")
    if not isinstance(container, dict):
        return []
    items = container.get("List")
    found = []
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict) and str(item.get("MsgID") or "").strip():
            code = str(item.get("ErrorCode") or "0").strip()
            found.append(
                (str(item["MsgID"]).strip(), code == "0", str(item.get("ErrorStatus") or "").strip())
            )
    return found
