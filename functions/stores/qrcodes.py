"""Parametric QR codes for a store, a staff member ("one person, one code") or a campaign."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from functions.core.errors import InvalidInput, NotFound, WeChatRefused
from functions.stores import domain

MAX_TEMPORARY_S = 30 * 24 * 3600  # WeChat's limit for QR_STR_SCENE
SHOWQRCODE = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="


@dataclass(frozen=True)
class QrCode:
    scene: str
    ticket: str
    url: str
    image_url: str
    permanent: bool
    expire_seconds: int | None


def create_qrcode(
    store_id: str,
    staff_id: str | None = None,
    campaign: str | None = None,
    permanent: bool = False,
    expire_seconds: int | None = None,
) -> QrCode:
    scene = domain.decode_scene(domain.encode_scene(store_id, staff_id, campaign))
    assert scene is not None  # encode_scene only builds decodable scenes
    if expire_seconds is not None and (permanent or not 60 <= expire_seconds <= MAX_TEMPORARY_S):
        raise InvalidInput(
            f"expire_seconds is for temporary codes, 60..{MAX_TEMPORARY_S}", code="invalid_expire_seconds"
        )
    if domain.get_store(store_id) is None:
        raise NotFound(f"store {store_id} does not exist", code="store_not_found")
    # Registered before the code exists, so no scan of the new code can miss its scene.
    domain.register_scene(scene, permanent)

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
    return QrCode(scene.scene, ticket, url, SHOWQRCODE + quote(ticket, safe=""), permanent, expires)
