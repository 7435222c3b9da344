"""Stores and their QR scenes.

Read side shared with other capabilities: get_store(store_id) -> Store | None (the POS checks
redemptions against `pos_secret`). Write side: put_store (create-or-update in one conditional
write, never read-then-write) and register_scene.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from functions.core import clock
from functions.core.errors import InvalidInput, NotFound, RuleBroken
from functions.core.models import condition_failed
from functions.stores.models import SCENE, STORE, SceneRow, StoreRow, scene_pk, store_pk

# Ids end up inside QR scenes (<= 64 chars) and keys; "_"-prefixed ids are reserved
# (UNKNOWN_STORE counts scans of scenes we never registered).
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
UNKNOWN_STORE = "_unknown"
SCENE_MAX = 64
NAME_MAX = 64
WELCOME_MAX = 600  # a WeChat text reply holds 2048 bytes; 600 CJK chars stay below it


@dataclass(frozen=True)
class Store:
    store_id: str
    name: str
    welcome: str
    pos_secret: str
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Scene:
    scene: str
    store_id: str
    staff_id: str | None = None
    campaign: str | None = None


def _to_store(row: StoreRow) -> Store:
    return Store(row.store_id, row.name, row.welcome, row.pos_secret, row.created_at, row.updated_at)


def check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidInput(f"{field} must match {ID_PATTERN.pattern}", code=f"invalid_{field}")
    return value


def get_store(store_id: str) -> Store | None:
    try:
        row = StoreRow.get(store_pk(store_id), STORE)
    except DoesNotExist:
        return None
    return _to_store(row)


def put_store(store_id: str, name: str, welcome: str) -> tuple[Store, bool]:
    """Create the store (with a fresh pos_secret) or update its name and welcome.

    Returns (store, created). One conditional put decides creation, so of many racing
    PUTs exactly one creates and hands out the secret; the others update.
    """
    check_id(store_id, "store_id")
    at = clock.iso(clock.now())
    row = StoreRow(
        store_pk(store_id),
        STORE,
        store_id=store_id,
        name=name,
        welcome=welcome,
        pos_secret=secrets.token_urlsafe(32),
        created_at=at,
        updated_at=at,
    )
    try:
        row.save(condition=StoreRow.pk.does_not_exist())
        return _to_store(row), True
    except PutError as error:
        if not condition_failed(error):
            raise
    row = StoreRow(store_pk(store_id), STORE)
    try:
        row.update(
            actions=[StoreRow.name.set(name), StoreRow.welcome.set(welcome), StoreRow.updated_at.set(at)],
            condition=StoreRow.pk.exists(),
        )
    except UpdateError as error:  # deleted in between: not something this API does
        if condition_failed(error):
            raise NotFound(f"store {store_id} vanished", code="store_not_found") from None
        raise
    return _to_store(row), False


def encode_scene(store_id: str, staff_id: str | None = None, campaign: str | None = None) -> str:
    """`<store>/<staff>/<campaign>` with empty parts trimmed from the end; at most 64 chars."""
    parts = [check_id(store_id, "store_id")]
    parts.append(check_id(staff_id, "staff_id") if staff_id else "")
    parts.append(check_id(campaign, "campaign") if campaign else "")
    scene = "/".join(parts).rstrip("/")
    if len(scene) > SCENE_MAX:
        raise RuleBroken(f"scene {scene!r} exceeds {SCENE_MAX} characters", code="scene_too_long")
    return scene


def decode_scene(scene: str) -> Scene | None:
    """The scene's store/staff/campaign if it has our shape, else None (never raises)."""
    if not scene or len(scene) > SCENE_MAX:
        return None
    parts = (scene.split("/") + ["", ""])[:3]
    if scene.count("/") > 2 or not ID_PATTERN.match(parts[0]):
        return None
    if any(p and not ID_PATTERN.match(p) for p in parts[1:]):
        return None
    return Scene(scene, parts[0], parts[1] or None, parts[2] or None)


def register_scene(scene: Scene, permanent: bool) -> None:
    """Record the scene so the callback can attribute scans (same scene again: same row)."""
    SceneRow(
        scene_pk(scene.scene),
        SCENE,
        scene=scene.scene,
        store_id=scene.store_id,
        staff_id=scene.staff_id,
        campaign=scene.campaign,
        permanent=permanent,
        created_at=clock.iso(clock.now()),
    ).save()


def remember_qrcode(scene: str, ticket: str, url: str, expire_seconds: int | None) -> None:
    SceneRow(scene_pk(scene), SCENE).update(
        actions=[
            SceneRow.ticket.set(ticket),
            SceneRow.url.set(url),
            SceneRow.qr_expire_seconds.set(expire_seconds)
            if expire_seconds
            else SceneRow.qr_expire_seconds.remove(),
        ]
    )
