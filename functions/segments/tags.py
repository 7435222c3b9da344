"""WeChat tags: the one a segment is mirrored to (CONTRACT §12).

- `create_tag` is inline in the segment's PUT (its answer is the tag's id): `409 tag_limit` at
  WeChat's 100 tags an account (45056), `502 wechat_error` for any other refusal. A name that
  already exists (45157: our own earlier attempt whose answer was lost) is looked up and used.
- Calls go through functions/core/wechat.py: the notification pipeline's shared access_token,
  its forced refresh and its one retry on a token error.
"""

from __future__ import annotations

from typing import Any

from functions.core.errors import Conflict, WeChatRefused

MAX_NAME_BYTES = 30
MAX_TAGS = 100
MAX_BATCH = 50
MAX_TAGS_PER_FOLLOWER = 20
NAME_EXISTS, NAME_TOO_LONG, TOO_MANY_TAGS = 45157, 45158, 45056
FOLLOWER_TAG_LIMIT, TOO_MANY_OPENIDS = 45059, 40032


def _wechat() -> Any:
    from functions.core import wechat  # noqa: PLC0415 - lazily: requests only where a tag is called

    return wechat


def _refused(api: str, error: Any) -> WeChatRefused:
    return WeChatRefused(f"WeChat refused {api}: {error.errcode} {error.errmsg}", code="wechat_error")


def find_tag(name: str) -> int | None:
    wechat = _wechat()
    try:
        data = wechat.call("cgi-bin/tags/get")
    except wechat.WeChatError as error:
        raise _refused("tags/get", error) from None
    return next((int(t["id"]) for t in data.get("tags") or [] if t.get("name") == name), None)


def create_tag(name: str) -> int:
    """The id of the account's tag named `name`, created if it is not there."""
    wechat = _wechat()
    try:
        data = wechat.call("cgi-bin/tags/create", {"tag": {"name": name}})
    except wechat.WeChatError as error:
        if error.errcode == TOO_MANY_TAGS:
            raise Conflict(f"the account already has {MAX_TAGS} tags", code="tag_limit") from None
        if error.errcode == NAME_EXISTS:
            found = find_tag(name)
            if found is not None:
                return found
        raise _refused("tags/create", error) from None
    return int(data["tag"]["id"])
