"""`/wechat/callback`: WeChat's server URL (CONTRACT §2).

Every refusal happens before anything is stored: signature, replay window, size, XML
safety, app id. Then one domain call, bounded by a deadline well inside WeChat's 5 s.
"""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from functools import cache

import msgspec
from chalice import Response

from functions.callback import crypto, domain
from functions.callback.message import InvalidMessage, Message
from functions.callback.xmlmsg import XmlRefused, parse, text_reply
from functions.core import clock
from functions.core.config import Settings, get_settings
from functions.core.errors import Forbidden, InvalidInput
from functions.core.http import Blueprint

log = logging.getLogger(__name__)
blueprint = Blueprint(__name__)

MAX_BODY_BYTES = 64 * 1024
DEADLINE_S = 4.0  # WeChat gives up at 5 s; past this we answer `success`
SUCCESS = "success"
# WeChat posts text/xml; accept the other types XML arrives with rather than a 415.
CONTENT_TYPES = [
    "text/xml",
    "application/xml",
    "text/plain",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "application/json",
]


class CallbackQuery(msgspec.Struct, forbid_unknown_fields=False):
    """WeChat's query parameters. All optional strings: what is missing or wrong fails the
    signature or replay checks (403), as WeChat's protocol has it, never a 400."""

    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    echostr: str = ""
    encrypt_type: str = "raw"
    msg_signature: str = ""


def _check_fresh(timestamp: str, settings: Settings) -> None:
    window = settings.wechat_replay_window_s
    if not timestamp.isdigit():
        raise Forbidden("timestamp must be unix seconds", code="invalid_timestamp")
    if window and abs(clock.now_ts() - int(timestamp)) > window:
        raise Forbidden(f"timestamp is outside the {window} s replay window", code="stale_timestamp")


def _check(parts: tuple[str, ...], supplied: str | None, code: str, settings: Settings) -> None:
    try:
        crypto.check_signature(parts, settings.wechat_token, supplied)
    except crypto.SignatureError:
        raise Forbidden("signature does not match", code=code) from None


def _parse(body: bytes | str) -> dict:
    try:
        return parse(body)
    except XmlRefused as error:
        raise InvalidInput(str(error), code="invalid_xml") from None


@blueprint.route("/wechat/callback", methods=["GET"], query=CallbackQuery)
def verify_server(query: CallbackQuery) -> Response:
    """WeChat's server verification: echo `echostr` when the signature is ours."""
    settings = get_settings()
    _check((query.timestamp, query.nonce), query.signature, "invalid_signature", settings)
    _check_fresh(query.timestamp, settings)
    return Response(body=query.echostr, headers={"Content-Type": "text/plain"})


@blueprint.route("/wechat/callback", methods=["POST"], content_types=CONTENT_TYPES, query=CallbackQuery)
def receive(query: CallbackQuery) -> Response:
    """A message or event from WeChat: verified, handled once, answered within the deadline."""
    request = blueprint.current_request
    settings = get_settings()
    timestamp, nonce = query.timestamp, query.nonce
    safe = query.encrypt_type.lower() == "aes"
    # Safe mode is authenticated by msg_signature over the ciphertext; `signature` is
    # checked whenever sent, and is required in plaintext mode.
    if not safe or query.signature:
        _check((timestamp, nonce), query.signature, "invalid_signature", settings)
    _check_fresh(timestamp, settings)
    body = request.raw_body or b""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInput(f"body exceeds {MAX_BODY_BYTES} bytes", code="body_too_large")
    fields = _parse(body)
    if safe:
        fields = _parse(_decrypt(fields, query.msg_signature, timestamp, nonce, settings))
    try:
        message = Message.from_fields(fields)
    except InvalidMessage as error:
        raise InvalidInput(str(error), code="invalid_message") from None

    reply = _process_within_deadline(message)
    if not reply:
        return Response(body=SUCCESS, headers={"Content-Type": "text/plain"})
    now = str(clock.now_ts())
    xml = text_reply(message.from_user, message.to_user, reply, int(now))
    if safe:
        xml = crypto.encrypt(
            xml,
            secrets.token_hex(8),
            now,
            settings.wechat_token,
            settings.wechat_encoding_aes_key,
            settings.wechat_app_id,
        )
    return Response(body=xml, headers={"Content-Type": "application/xml"})


def _decrypt(fields: dict, msg_signature: str, timestamp: str, nonce: str, settings: Settings) -> str:
    encrypt = fields.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise InvalidInput("safe mode needs <Encrypt>", code="invalid_message")
    _check((timestamp, nonce, encrypt), msg_signature, "invalid_msg_signature", settings)
    try:
        return crypto.decrypt(
            encrypt, settings.wechat_token, settings.wechat_encoding_aes_key, settings.wechat_app_id
        )
    except crypto.AppIdError:
        raise Forbidden("the message is for another app id", code="wrong_appid") from None
    except crypto.DecryptError:
        raise InvalidInput("the ciphertext does not decrypt", code="invalid_ciphertext") from None


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="wechat-callback")


def _process_within_deadline(message: Message) -> str | None:
    """The reply, or None (`success`) if storage fails or is too slow: an error or a
    timeout would make WeChat show the customer "service unavailable"."""
    future = _executor().submit(domain.process, message)
    try:
        return future.result(timeout=DEADLINE_S)
    except FuturesTimeout:
        log.error("callback %s missed the %.1f s deadline; answered success", message.dedupe_key, DEADLINE_S)
    except Exception:
        log.exception("callback %s failed; answered success", message.dedupe_key)
    return None
