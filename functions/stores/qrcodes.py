"""Parametric QR codes for a store, a staff member ("one person, one code") or a campaign."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from functions.core.config import get_settings
from functions.core.errors import NotFound, RuleBroken, WeChatRefused
from functions.stores import domain

MIN_TEMPORARY_S = 60
MAX_TEMPORARY_S = 30 * 24 * 3600  # WeChat's limit for QR_STR_SCENE
MAX_CARD_POINTS = 100_000  # points a table card may credit per scan
SHOWQRCODE = "/cgi-bin/showqrcode?ticket="  # under WECHAT_MP_BASE (mp.weixin.qq.com in AWS)


@dataclass(frozen=True)
class QrCode:
    scene: str
    ticket: str
    url: str
    image_url: str
    permanent: bool
    expire_seconds: int | None
    points: int | None = None  # a table card's points per scan


def create_qrcode(
    store_id: str,
    staff_id: str | None = None,
    campaign: str | None = None,
    permanent: bool = False,
    expire_seconds: int | None = None,
    points: int | None = None,
) -> QrCode:
    """Register the scene, then have WeChat create its code. The ids are identifiers and
    `expire_seconds` within MIN/MAX_TEMPORARY_S (the request's declaration says so). With
    `points`, the code is a table card: its own scene (`…#pts`), crediting points per scan."""
    if expire_seconds is not None and permanent:
        raise RuleBroken("expire_seconds is for temporary codes only", code="permanent_code_expires")
    encoded = domain.encode_scene(store_id, staff_id, campaign, points_card=points is not None)
    scene = domain.decode_scene(encoded)
    if scene is None:  # a reserved store id: no such store can exist
        raise NotFound(f"store {store_id} does not exist", code="store_not_found")
    if domain.get_store(store_id) is None:
        raise NotFound(f"store {store_id} does not exist", code="store_not_found")
    # Registered before the code exists, so no scan of the new code can miss its scene.
    domain.register_scene(scene, permanent, points)

    from functions.core import wechat  # lazily: the callback path never calls WeChat

    body: dict = {
        "action_name": "QR_LIMIT_STR_SCENE" if permanent else "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": scene.scene}},
    }
    if not permanent:
        body["expire_seconds"] = expire_seconds or MAX_TEMPORARY_S
    try:
        result = wechat.call("cgi-bin/qrcode/create", body)
    except (wechat.WeChatError, OSError) as error:  # OSError: requests' network errors
        raise WeChatRefused(f"WeChat refused the QR code: {error}") from None
    ticket, url = str(result["ticket"]), str(result.get("url", ""))
    expires = None if permanent else int(result.get("expire_seconds") or body["expire_seconds"])
    domain.remember_qrcode(scene.scene, ticket, url, expires)
    return QrCode(scene.scene, ticket, url, image_url(ticket), permanent, expires, points)


def image_url(ticket: str) -> str:
    """The QR code's picture: WeChat's showqrcode for the ticket (the local sandbox draws one)."""
    return get_settings().wechat_mp_base + SHOWQRCODE + quote(ticket, safe="")
