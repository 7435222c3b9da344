"""An incoming WeChat message or event, as the dispatch table sees it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from functions.core import clock

# Events that carry a MsgID, which is part of their dedupe key (CONTRACT §2).
JOB_FINISH_EVENTS = ("TEMPLATESENDJOBFINISH", "MASSSENDJOBFINISH")
_SUBSCRIBE_ELEMENTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


class InvalidMessage(Exception):
    """Well-formed XML that is not a WeChat message (required fields missing)."""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True)
class Message:
    to_user: str  # our account's original id (gh_...)
    from_user: str  # the customer's openid
    create_time: int
    msg_type: str  # lower case: text, event, image, ...
    event: str = ""  # as sent: subscribe, SCAN, CLICK, TEMPLATESENDJOBFINISH, ...
    event_key: str = ""
    msg_id: str = ""
    content: str = ""
    status: str = ""  # TEMPLATESENDJOBFINISH's Status
    fields: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Message:
        from_user, msg_type = _text(fields.get("FromUserName")), _text(fields.get("MsgType")).lower()
        create_time = clock.unix_seconds(_text(fields.get("CreateTime")))
        if not from_user or not msg_type or create_time is None:
            raise InvalidMessage("FromUserName, MsgType and a CreateTime in unix seconds are required")
        return cls(
            to_user=_text(fields.get("ToUserName")),
            from_user=from_user,
            create_time=create_time,
            msg_type=msg_type,
            event=_text(fields.get("Event")),
            event_key=_text(fields.get("EventKey")),
            msg_id=_text(fields.get("MsgId") or fields.get("MsgID")),
            # Content is the customer's text: keep inner spaces, trim the ends.
            content=fields.get("Content").strip() if isinstance(fields.get("Content"), str) else "",
            status=_text(fields.get("Status")),
            fields=fields,
        )

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def dedupe_key(self) -> str:
        """FromUserName+CreateTime+MsgId for messages, FromUserName+CreateTime+Event+EventKey
        for events (CONTRACT §2), hashed to a bounded key."""
        if self.is_event:
            parts = [self.from_user, str(self.create_time), self.event, self.event_key]
            if self.event.upper() in JOB_FINISH_EVENTS:
                parts.append(self.msg_id)  # two jobs may finish in the same second
            if self.event.lower().startswith("subscribe_msg_"):
                # No EventKey: what the follower chose (or the msgids sent) tells two apart.
                parts.append(
                    json.dumps(
                        self.fields.get(_SUBSCRIBE_ELEMENTS.get(self.event.lower(), "")), sort_keys=True
                    )
                )
        else:
            parts = [self.from_user, str(self.create_time), self.msg_id]
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        return f"wechat-callback#{digest}"
