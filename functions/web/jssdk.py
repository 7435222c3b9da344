"""WeChat's JS-SDK on the customer pages, only inside WeChat: the subscribe button.

`wx-open-subscribe` (an open tag of the JS-SDK) lets a follower grant one-time subscribe
notifications (CONTRACT §15). It works only in WeChat's browser, after `wx.config` signed with
the account's jsapi_ticket (functions.core.wechat.jsapi_ticket, shared like the access_token):

    signature = sha1("jsapi_ticket=<t>&noncestr=<n>&timestamp=<s>&url=<page URL without #...>")

Outside WeChat (no `MicroMessenger` in the user agent), and so in the tests' plain clients,
the page shows no button and loads no script: its Content-Security-Policy stays `script-src
'none'`. Inside WeChat the policy admits WeChat's script host and the page's one inline script
by its nonce.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from functions.core.config import get_settings

log = logging.getLogger(__name__)
JSSDK_URL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
WECHAT_UA = "MicroMessenger"


def in_wechat(headers: Any) -> bool:
    """Whether the request comes from WeChat's in-app browser."""
    agent = ""
    for name in ("User-Agent", "user-agent"):
        value = headers.get(name) if headers is not None else None
        if value:
            agent = str(value)
            break
    return WECHAT_UA in agent


def signature(ticket: str, noncestr: str, timestamp: int, url: str) -> str:
    """WeChat's JS-SDK signature (附录1-JS-SDK使用权限签名算法): keys sorted, joined as a query
    string without escaping, SHA-1 in hex. The URL is the page's, without its fragment."""
    page = url.split("#", 1)[0]
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page}"
    return hashlib.sha1(plain.encode()).hexdigest()  # noqa: S324 - WeChat's algorithm


@dataclass(frozen=True)
class SubscribeOffer:
    """What the page's button needs: the templates offered, `wx.config`, the script's nonce."""

    template_ids: tuple[str, ...]
    config: dict[str, Any]
    nonce: str
    script_url: str = JSSDK_URL

    def policy(self, base: str) -> str:
        """The page's Content-Security-Policy with WeChat's script and this page's inline one."""
        return base.replace("script-src 'none'", f"script-src 'nonce-{self.nonce}' https://res.wx.qq.com")


def subscribe_offer(headers: Any, page_url: str, kinds: tuple[str, ...]) -> SubscribeOffer | None:
    """The subscribe button for the subscribe templates of `kinds` (infra/templates.yaml) on the
    page at `page_url`, or None outside WeChat or when none of them is sent by subscribe."""
    if not in_wechat(headers):
        return None
    # Only a page opened in WeChat needs the templates' configuration and the ticket.
    from functions.core import wechat
    from functions.notifications import templates

    offered = tuple(templates.subscribe_template_ids(kinds))
    if not offered:
        return None

    try:
        ticket = wechat.jsapi_ticket()
    except wechat.WeChatError:
        log.warning("no jsapi_ticket: the page goes without its subscribe button", exc_info=True)
        return None
    noncestr, timestamp = secrets.token_hex(8), int(time.time())
    config = {
        "debug": False,
        "appId": get_settings().wechat_app_id,
        "timestamp": timestamp,
        "nonceStr": noncestr,
        "signature": signature(ticket, noncestr, timestamp, page_url),
        "jsApiList": ["checkJsApi"],
        "openTagList": ["wx-open-subscribe"],
    }
    return SubscribeOffer(offered, config, secrets.token_urlsafe(12))
