"""`/wechat/callback`: WeChat's server URL (CONTRACT §2).

Every refusal happens before anything is stored: signature, replay window, size, XML
safety, app id. Then one domain call, bounded by a deadline well inside WeChat's 5 s.
"""

from __future__ import annotations

import logging
import secrets

import msgspec
from botocore.exceptions import BotoCoreError, ClientError
from chalice import Response
from pynamodb.exceptions import PynamoDBException

from functions.callback import crypto, domain
from functions.callback.message import InvalidMessage, Message
from functions.callback.xmlmsg import XmlRefused, parse, text_reply
from functions.core import clock, deadline, txn
from functions.core.config import Settings, get_settings
from functions.core.errors import Forbidden, InvalidInput, Unavailable
from functions.core.http import Blueprint

log = logging.getLogger(__name__)
blueprint = Blueprint(__name__)

MAX_BODY_BYTES = 64 * 1024
DEADLINE_S = 4.0  # WeChat gives up at 5 s: by then we have answered, 503 if not stored
# What a storage failure looks like: the SDK's and PynamoDB's errors, a cancelled transaction.
STORAGE_FAILURES = (PynamoDBException, BotoCoreError, ClientError, txn.Cancelled)
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


TEXT = {"schema": {"type": "string"}}
# The XML body and the text or XML answers, which the declarations cannot say (CONTRACT §2).
MESSAGE_DOCUMENT = {
    "requestBody": {
        "required": True,
        "content": {
            "text/xml": {
                "schema": {
                    "type": "string",
                    "maxLength": MAX_BODY_BYTES,
                    "description": "WeChat's message XML; in safe mode <xml><ToUserName/><Encrypt/></xml>",
                }
            }
        },
    },
    "responses": {
        "200": {
            "description": "`success`, or a reply message (sealed with AES in safe mode)",
            "content": {"text/plain": TEXT, "application/xml": TEXT},
        }
    },
}
VERIFY_DOCUMENT = {"responses": {"200": {"description": "`echostr`", "content": {"text/plain": TEXT}}}}


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
    sent_at = clock.unix_seconds(timestamp)
    if sent_at is None:
        raise Forbidden("timestamp must be unix seconds", code="invalid_timestamp")
    if window and abs(clock.now_ts() - sent_at) > window:
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


@blueprint.route("/wechat/callback", methods=["GET"], query=CallbackQuery, document=VERIFY_DOCUMENT)
def verify_server(query: CallbackQuery) -> Response:
    """WeChat's server verification: echo `echostr` when the signature is ours."""
    settings = get_settings()
    _check((query.timestamp, query.nonce), query.signature, "invalid_signature", settings)
    _check_fresh(query.timestamp, settings)
    return Response(body=query.echostr, headers={"Content-Type": "text/plain"})


@blueprint.route(
    "/wechat/callback",
    methods=["POST"],
    content_types=CONTENT_TYPES,
    query=CallbackQuery,
    document=MESSAGE_DOCUMENT,
)
def receive(query: CallbackQuery) -> Response:
    """A message or event from WeChat: verified, handled once, answered within the deadline."""
    request = blueprint.current_request
    settings = get_settings()
    timestamp, nonce = query.timestamp, query.nonce
    safe = query.encrypt_type.lower() == "aes"
    if not safe and settings.wechat_message_mode == "safe":
        # A plaintext message is authenticated by a (signature, timestamp, nonce) triple that
        # any logged callback URL reveals; in safe mode only msg_signature over AES counts.
        raise Forbidden("this account is in safe mode: callbacks must be encrypted", code="plaintext_refused")
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


def _process_within_deadline(message: Message) -> str | None:
    """The reply, once the message's effects are stored; Unavailable (503, so that WeChat
    retries; the dedupe record keeps the retries exactly once) when storage fails or cannot
    finish before the deadline. The work runs on this thread and every DynamoDB attempt must fit
    before the deadline (functions.core.deadline), so nothing is still running once we answer."""
    try:
        with deadline.within(DEADLINE_S):
            return domain.process(message)
    except deadline.DeadlineExceeded as error:
        log.error("callback %s: %s; answered 503 for WeChat to retry", message.dedupe_key, error.message)
        raise
    except STORAGE_FAILURES as error:
        log.error(
            "callback %s: storage failed (%r); answered 503 for WeChat to retry", message.dedupe_key, error
        )
        raise Unavailable("the message could not be stored; retry", code="storage_unavailable") from None
