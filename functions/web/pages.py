"""Rendering the customer pages: templates, the stylesheet, redirects and pages for errors.

Templates are Jinja2 with autoescape, from functions/web/templates (the layout, the error
page) and the pages' own folder. Jinja2 is imported on the first page, not at import: the API
function's cold start serves JSON routes and the WeChat callback too, which never render.

A page route is declared like any route (functions.core.http.Blueprint.route), with
`auth=signed_in` (functions.web.session) and `errors=error_page`:

    @blueprint.route("/h5/coupons", methods=["GET"], auth=signed_in, errors=error_page)
    def coupons(caller: Session) -> Response:
        return page("coupons.html", caller, coupons=...)
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from chalice import Response
from chalice.app import Request

from functions.core import links
from functions.core.config import get_settings
from functions.core.errors import AppError
from functions.core.http import status_of
from functions.web import session as sessions
from functions.web.session import Session, SignInRequired, local

HERE = Path(__file__).resolve().parent
# The console's templates live in a `console/` folder of their own, so names never collide.
TEMPLATES = [HERE / "templates", HERE.parent / "h5" / "templates", HERE.parent / "console" / "templates"]
STATIC = HERE / "static"
HTML = "text/html; charset=utf-8"
# Pages hold personal data: never cached, never framed, no script, nothing loaded from elsewhere.
PAGE_HEADERS = {
    "Content-Type": HTML,
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; script-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# The pages' tabs: (path, label, icon template); the layout marks the current one.
TABS = (
    (links.BOOKINGS, "预约", "tab-bookings.svg"),
    (links.COUPONS, "优惠券", "tab-coupons.svg"),
    (links.SHIPMENTS, "物流", "tab-shipments.svg"),
    (links.ME, "我的", "tab-me.svg"),
)
# What a customer is told when something cannot be done, by error code (else by status).
ERROR_TEXT = {
    "booking_not_found": ("找不到这个预约", "它可能已被删除，或不属于当前微信账号。"),
    "order_not_found": ("找不到这个订单", "请确认订单属于当前微信账号，或联系门店。"),
    "slot_not_found": ("这个时段不存在", "请返回重新选择时段。"),
    "slot_in_past": ("这个时段已经开始", "请返回选择其他时段。"),
    "booking_closed": ("这个时段已截止预约", "前一天 {cutoff} 后不能再预约次日的时段，请选择其他时段。"),
    "booking_cancelled": ("这个预约已取消", "如需送货安装，请重新预约。"),
    "busy": ("当前预约的人较多", "请稍后再试一次。"),
    "stale_form": ("页面已过期", "请返回，刷新页面后再操作一次。"),
    "sign_in_state": ("登录未完成", "请从公众号菜单重新打开页面。"),
    "invalid_code": ("登录失败", "请从公众号菜单重新打开页面。"),
    "wechat_unavailable": ("微信登录暂时不可用", "请稍后再试。"),
    "invalid_slot_id": ("请选择一个时段", "请返回选择送货安装的时段。"),
    "invalid_address": ("请填写地址", "地址最多 200 个字。"),
    "invalid_phone": ("请填写正确的手机号", "例如 13800138000。"),
    "serial_not_found": ("找不到这个产品", "请核对机身条码上的序列号，或联系门店。"),
    "invalid_serial": ("找不到这个产品", "请核对机身条码上的序列号，或联系门店。"),
    "already_registered": ("这个产品已被登记", "它已登记在其他微信账号下。如有疑问，请联系门店。"),
    "purchased_on_in_future": ("购买日期有误", "购买日期不能晚于今天。"),
    "invalid_purchased_on": ("购买日期有误", "请返回重新选择购买日期。"),
    "invalid_problem": ("请描述遇到的问题", "最多 200 个字。"),
    "service_request_not_found": ("找不到这个售后申请", "请从公众号菜单重新打开页面。"),
    "insufficient_points": ("积分不足", "您的积分不够兑换这张券，攒够了再来吧。"),
    "limit_reached": ("已达兑换上限", "这张券每人可兑换的数量已用完。"),
    "sold_out": ("已兑完", "这张券已经被兑换完了，看看其他的吧。"),
    "not_for_points": ("这张券不能用积分兑换", "请返回选择其他优惠券。"),
    "campaign_ended": ("活动已结束", "请返回选择其他优惠券。"),
    "share_not_found": ("邀请链接无效", "请让好友重新分享邀请链接。"),
}
STATUS_TEXT = {
    404: ("页面不存在", "请从公众号菜单重新打开页面。"),
    400: ("填写的内容有误", "请返回检查后再试。"),
}
DEFAULT_TEXT = ("操作未成功", "请稍后再试，或联系门店。")


@functools.cache
def _environment() -> Any:
    import jinja2  # lazily: see the module's docstring

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(path) for path in TEMPLATES]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    environment.globals.update(url=local, static_url=static_url, tabs=TABS)
    return environment


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def page(
    template: str,
    caller: Session | None,
    status: int = 200,
    headers: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    """The page `template` for `caller` (its forms get the caller's CSRF token)."""
    context.setdefault("tab", None)
    body = render(template, csrf_token=caller.csrf_token if caller else "", **context)
    return Response(body=body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def console_page(template: str, status: int = 200, **context: Any) -> Response:
    """A page of the ops console: the same headers, except that its QR pictures come from
    WeChat's image host (WECHAT_MP_BASE; the sandbox locally)."""
    images = get_settings().wechat_mp_base
    policy = PAGE_HEADERS["Content-Security-Policy"].replace(
        "img-src 'self' data:", f"img-src 'self' data: {images}"
    )
    context.setdefault("tab", None)
    return Response(
        body=render(template, **context),
        status_code=status,
        headers={**PAGE_HEADERS, "Content-Security-Policy": policy},
    )


def redirect(path: str, status: int = 303, cookies: list[str] | None = None) -> Response:
    """To a page of ours (`path` under /h5/); 303 after a form, so a reload does not repeat it."""
    headers: dict[str, Any] = {"Location": local(path), "Cache-Control": "no-store"}
    if cookies:
        headers["Set-Cookie"] = cookies
    return Response(body="", status_code=status, headers=headers)


def sign_in(next_path: str, retry: bool = False) -> Response:
    """WeChat's sign-in, with a new state remembered in a short-lived cookie."""
    state = sessions.new_state()
    return Response(
        body="",
        status_code=302,
        headers={
            "Location": sessions.authorize_url(next_path, state, retry),
            "Set-Cookie": [sessions.set_cookie(sessions.STATE_COOKIE, state, sessions.STATE_TTL_S)],
            "Cache-Control": "no-store",
        },
    )


def error_page(error: AppError, request: Request | None = None) -> Response:
    """A domain error as a page a customer understands (the status stays the error's). Its
    button leads back to the form that was sent, or else to the home page."""
    if isinstance(error, SignInRequired):
        return sign_in(sessions.safe_next(error.next_path))
    back = sessions.HOME
    if request is not None and request.method == "POST":
        back = sessions.safe_next(sessions.request_path(request))
    status = status_of(error)
    title, detail = ERROR_TEXT.get(error.code) or STATUS_TEXT.get(status) or DEFAULT_TEXT
    detail = detail.format(cutoff=get_settings().booking_cutoff)
    return page(
        "error.html",
        None,
        status=status,
        title=title,
        detail=detail,
        back=back,
        code=error.code,
    )


# -- the stylesheet: one file, cached for a year under a name that changes with it --------


@functools.cache
def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every static file, read once per container: (content, version)."""
    found = {}
    for path in STATIC.iterdir():
        if path.is_file():
            data = path.read_bytes()
            found[path.name] = (data, hashlib.sha256(data).hexdigest()[:12])
    return found


def _static(name: str) -> tuple[bytes, str] | None:
    return _static_files().get(name)


def static_url(name: str) -> str:
    found = _static(name)
    version = found[1] if found else "0"
    return local(f"/h5/static/{name}?v={version}")


CONTENT_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def static_response(name: str, version: str | None, if_none_match: str | None) -> Response | None:
    """The static file, or None if there is no such file."""
    found = _static(name)
    if found is None:
        return None
    data, digest = found
    etag = f'"{digest}"'
    # A versioned URL never changes: cache it for a year. Without the version, revalidate.
    cache = "public, max-age=31536000, immutable" if version == digest else "public, max-age=300"
    headers = {"ETag": etag, "Cache-Control": cache}
    if if_none_match == etag:
        return Response(body="", status_code=304, headers=headers)
    content_type = CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
    return Response(
        body=data.decode("utf-8"), status_code=200, headers={"Content-Type": content_type, **headers}
    )
