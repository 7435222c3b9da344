"""Logistics routes: thin, they parse and call one function."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response
from chalice.app import Request

from functions.core.errors import AppError
from functions.core.http import Blueprint, header, raw_body, status_of
from functions.logistics import pushes, shipments
from functions.logistics.requests import NativeEvent

blueprint = Blueprint(__name__)

KUAIDI100_OK = {"result": True, "returnCode": "200", "message": "成功"}
# The form and Kuaidi100's own answer shape, which the declarations cannot say (CONTRACT §5).
KUAIDI100_ANSWER = {
    "type": "object",
    "required": ["result", "returnCode", "message"],
    "properties": {
        "result": {"type": "boolean"},
        "returnCode": {"type": "string", "description": "200 taken; 500 not taken (Kuaidi100 retries)"},
        "message": {"type": "string"},
        "error": {"type": "string", "description": "our error code, when not taken"},
    },
}
KUAIDI100_DOCUMENT = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["param", "sign"],
                    "properties": {
                        "param": {
                            "type": "string",
                            "description": "JSON: {status, message, lastResult{nu, com, state, ischeck, data[]}}",
                        },
                        "sign": {
                            "type": "string",
                            "description": "MD5(param + KUAIDI100_SALT), hex, either case",
                        },
                    },
                }
            }
        },
    },
    "responses": {
        "200": {"description": "taken", "content": {"application/json": {"schema": KUAIDI100_ANSWER}}},
        "default": {
            "description": "not taken (or refused before it is read: our error shape)",
            "content": {
                "application/json": {
                    "schema": {"anyOf": [KUAIDI100_ANSWER, {"$ref": "#/components/schemas/ApiError"}]}
                }
            },
        },
    },
}


@blueprint.route(
    "/logistics/kuaidi100",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"],
    document=KUAIDI100_DOCUMENT,
)
def kuaidi100_push() -> Response:
    """Kuaidi100's subscription push. Answers in Kuaidi100's shape, success only once stored."""
    request = blueprint.current_request
    try:
        param, sign = pushes.kuaidi100_form(raw_body(request, pushes.MAX_PUSH_BYTES))
        pushes.verify_kuaidi100(param, sign)
        shipments.ingest(pushes.parse_kuaidi100(param))
    except AppError as error:
        # returnCode 500 tells Kuaidi100 the push was not taken.
        body = {"result": False, "returnCode": "500", "message": error.message, "error": error.code}
        return _kuaidi100_answer(body, status_of(error))
    return _kuaidi100_answer(KUAIDI100_OK, 200)


def _kuaidi100_answer(body: dict[str, Any], status: int) -> Response:
    # Serialised here so the Chinese text goes out as UTF-8, byte for byte as Kuaidi100 documents it.
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(
        body=text, status_code=status, headers={"Content-Type": "application/json; charset=utf-8"}
    )


def logistics_signature(request: Request) -> None:
    """`X-Signature: sha256=<hex HMAC-SHA256(LOGISTICS_HMAC_SECRET, raw body)>`, checked over the raw
    bytes before the body is decoded."""
    pushes.verify_native(raw_body(request), header(request, "X-Signature"))


@blueprint.route("/logistics/events", methods=["POST"], auth=logistics_signature, body=NativeEvent)
def native_push(caller: None, body: NativeEvent) -> Response:
    """The native logistics webhook: one signed event."""
    result = shipments.ingest(pushes.native_push(body))
    return Response(
        body={"status": "accepted", "new_events": result.new_events, "changed_to": result.changed_to},
        status_code=202,
    )


@blueprint.route("/shipments", methods=["GET"], auth="customer")
def my_shipments(openid: str) -> list[dict[str, Any]]:
    """The signed-in customer's shipments, with status and history newest first."""
    return [s.to_view() for s in shipments.for_customer(openid)]
