"""Stores. Read side shared with other capabilities: get_store(store_id) -> Store | None
(the POS checks redemptions against `pos_secret`)."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from functions.stores.models import StoreRow


@dataclass(frozen=True)
class Store:
    store_id: str
    name: str
    welcome: str
    pos_secret: str


def get_store(store_id: str) -> Store | None:
    try:
        row = StoreRow.get(f"STORE#{store_id}", "STORE")
    except DoesNotExist:
        return None
    return Store(row.store_id, row.name, row.welcome, row.pos_secret)
