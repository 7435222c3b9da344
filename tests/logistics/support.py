"""Builders for logistics tests: Kuaidi100 and native pushes, signed like the real senders."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any
from urllib.parse import urlencode

SALT = "dev-salt"
HMAC_SECRET = "dev-logistics-secret"

# Kuaidi100's documented push sample (lastResult of a subscription callback), made final:
# state 3 (signed for), ischeck 1, two history entries, newest first.
KUAIDI100_SAMPLE: dict[str, Any] = {
    "status": "shutdown",
    "billstatus": "check",
    "message": "",
    "autoCheck": "0",
    "comOld": "",
    "comNew": "",
    "lastResult": {
        "message": "ok",
        "state": "3",
        "status": "200",
        "condition": "F00",
        "ischeck": "1",
        "com": "yuantong",
        "nu": "V030344422",
        "data": [
            {
                "context": "上海分拨中心/已签收 ",
                "time": "2012-08-28 16:33:19",
                "ftime": "2012-08-28 16:33:19",
                "status": "签收",
                "areaCode": "310000000000",
                "areaName": "上海市",
            },
            {
                "context": "上海分拨中心/装件入车扫描 ",
                "time": "2012-08-27 23:22:42",
                "ftime": "2012-08-27 23:22:42",
                "status": "在途",
                "areaCode": "310000000000",
                "areaName": "上海市",
            },
        ],
    },
}


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:12].upper()


def kuaidi100_param(
    nu: str,
    entries: list[tuple[str, str, str | None]],
    state: str,
    com: str = "yuantong",
    status: str = "polling",
    message: str = "",
) -> str:
    """`param` JSON for a push; entries are (time, context, statusCode) and are sent newest first."""
    data = [
        {"context": context, "time": at, "ftime": at, **({"statusCode": code} if code else {})}
        for at, context, code in sorted(entries, key=lambda e: e[0], reverse=True)
    ]
    body = {
        "status": status,
        "message": message,
        "lastResult": {
            "message": "ok",
            "state": state,
            "ischeck": "1" if state == "3" else "0",
            "com": com,
            "nu": nu,
            "data": data,
        },
    }
    return json.dumps(body, ensure_ascii=False)


def sign(param: str, salt: str = SALT) -> str:
    return hashlib.md5((param + salt).encode()).hexdigest()


def kuaidi100_form(param: str, signature: str | None = None) -> str:
    return urlencode({"param": param, "sign": sign(param) if signature is None else signature})


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def native_body(
    tracking_no: str,
    status: str,
    occurred_at: str,
    carrier: str = "acme",
    event_id: str | None = None,
    **extra: Any,
) -> bytes:
    body = {
        "event_id": event_id or uuid.uuid4().hex,
        "carrier": carrier,
        "tracking_no": tracking_no,
        "status": status,
        "occurred_at": occurred_at,
        **extra,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def native_headers(raw: bytes, secret: str = HMAC_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Signature": f"sha256={digest}"}


def order_body(
    order_id: str, openid: str, carrier: str | None = None, tracking_no: str | None = None, **extra: Any
) -> str:
    body: dict[str, Any] = {
        "order_id": order_id,
        "openid": openid,
        "store_id": "S1",
        "items": [{"sku": "AC-100", "qty": 1, "price_cents": 399900}],
        "total_cents": 399900,
        **extra,
    }
    if tracking_no:
        body["shipment"] = {"carrier": carrier or "yuantong", "tracking_no": tracking_no}
    return json.dumps(body)


WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class DynamoCalls:
    """Counts DynamoDB API calls of the shipment models, and the items they read back, through
    botocore's event hooks."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.items_read = 0

    def _hook(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def _items(self, parsed: Any = None, **_: Any) -> None:
        if isinstance(parsed, dict):
            self.items_read += len(parsed.get("Items") or []) + (1 if parsed.get("Item") else 0)

    def __enter__(self) -> DynamoCalls:
        from functions.logistics.models import ShipmentEventRow, ShipmentRow

        self._clients = {
            id(c): c for c in (m._get_connection().connection.client for m in (ShipmentRow, ShipmentEventRow))
        }
        for client in self._clients.values():
            client.meta.events.register("before-call.dynamodb.*", self._hook, unique_id=f"count-{id(self)}")
            client.meta.events.register("after-call.dynamodb.*", self._items, unique_id=f"items-{id(self)}")
        return self

    def __exit__(self, *exc: Any) -> None:
        for client in self._clients.values():
            client.meta.events.unregister("before-call.dynamodb.*", unique_id=f"count-{id(self)}")
            client.meta.events.unregister("after-call.dynamodb.*", unique_id=f"items-{id(self)}")

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if c in WRITE_OPERATIONS]

    @property
    def reads(self) -> list[str]:
        return [c for c in self.calls if c not in WRITE_OPERATIONS]
