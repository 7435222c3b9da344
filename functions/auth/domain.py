"""Sign-in: WeChat's OAuth code is exchanged for the openid, which gets a signed session token."""

from __future__ import annotations

from typing import Any

from functions.core.errors import Unauthenticated, Unavailable
from functions.core.session import issue_token
from functions.customers.domain import get_customer, ref_code_of

# WeChat's answers for a code that is wrong, used or expired (40029, 40163) or an OAuth
# refusal; anything else is WeChat being unavailable.
REFUSED_CODES = frozenset({40029, 40163, 41008})


def sign_in(code: str) -> dict[str, str]:
    """A session token for the customer behind WeChat's OAuth `code`."""
    from functions.core import wechat  # lazily: the callback path never needs `requests`

    try:
        openid = wechat.oauth_openid(code)
    except wechat.WeChatError as error:
        if error.errcode in REFUSED_CODES:
            raise Unauthenticated("WeChat refused the code", code="invalid_code") from None
        raise Unavailable(f"WeChat sign-in failed: {error.errcode}", code="wechat_unavailable") from None
    return {"token": issue_token(openid), "openid": openid}


def me(openid: str) -> dict[str, Any]:
    """What the customer's pages need to know about them; a customer not yet known is neither.
    `ref_code` is their share code (made on first ask)."""
    customer = get_customer(openid)
    return {
        "openid": openid,
        "subscribed": bool(customer and customer.subscribed),
        "reminder_consent": bool(customer and customer.reminder_consent),
        "ref_code": ref_code_of(openid),
    }
