"""The account's follow code on the warranty page (CONTRACT §13).

A product's printed code is an H5 address, not a parametric WeChat code (an account has at
most 100,000 permanent codes, and units ship by the million). A customer who opens it without
following the account is invited to follow: the page shows ONE permanent code of the account,
scene `warranty`, created on first need and kept in the warranty table. Two first pages at once
may both create it; WeChat answers the same scene with a code that works either way, and the
first one stored is the one every later page shows.
"""

from __future__ import annotations

import logging

from pynamodb.exceptions import PutError

from functions.core import clock
from functions.core.models import condition_failed
from functions.warranty.models import AccountQrRow

log = logging.getLogger(__name__)

SCENE = "warranty"
PK = "ACCOUNTQR"


def follow_url() -> str | None:
    """What the account's follow code encodes (WeChat's `url` of the code), or None when WeChat
    cannot make one now (the page then says to search the account instead)."""
    try:
        return AccountQrRow.get(PK, SCENE, consistent_read=True).url
    except AccountQrRow.DoesNotExist:
        pass
    from functions.core import wechat  # lazily: only a page for a customer not following calls WeChat

    body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": SCENE}}}
    try:
        result = wechat.call("cgi-bin/qrcode/create", body)
    except (wechat.WeChatError, OSError):
        log.exception("could not create the account's follow code")
        return None
    row = AccountQrRow(
        PK, SCENE, ticket=str(result["ticket"]), url=str(result["url"]), created_at=clock.iso(clock.now())
    )
    try:
        row.save(condition=AccountQrRow.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        return AccountQrRow.get(PK, SCENE, consistent_read=True).url
    return row.url
