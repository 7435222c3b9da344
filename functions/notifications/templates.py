"""Rendering template-message data within WeChat's post-2023 rules.

No `first` / `remark` (WeChat ignores or rejects them), each value at most 20 characters,
no line breaks. Values are cleaned here rather than refused: a long product name is cut
with an ellipsis, which is better than a customer getting nothing.
"""

from __future__ import annotations

import re
from typing import Any

FIELD_LIMIT = 20
DROPPED = frozenset({"first", "remark"})
_SPACE = re.compile(r"\s+")


def clean(value: object) -> str:
    text = _SPACE.sub(" ", str(value)).strip()  # every line break and tab becomes one space
    if len(text) > FIELD_LIMIT:
        text = text[: FIELD_LIMIT - 1].rstrip() + "…"
    return text


def render(fields: dict[str, Any]) -> dict[str, dict[str, str]]:
    """`{"thing1": "..."}` -> WeChat's `data`: `{"thing1": {"value": "..."}}`."""
    return {key: {"value": clean(value)} for key, value in fields.items() if key not in DROPPED}


def template_message(
    openid: str, template_id: str, fields: dict[str, Any], url: str | None, client_msg_id: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "touser": openid,
        "template_id": template_id,
        "data": render(fields),
        "client_msg_id": client_msg_id,
    }
    if url:
        body["url"] = url
    return body
