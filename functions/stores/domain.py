"""Stores and their QR scenes.

Read side shared with other capabilities: get_store(store_id) -> Store | None (the POS checks
redemptions against `pos_secret`) and scan_target(scene) -> ScanTarget | None (the WeChat
callback's attribution and welcome). Write side: put_store (create-or-update in one conditional
write, never read-then-write) and register_scene.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.transactions import TransactGet

from functions.core import clock
from functions.core.errors import NotFound, RuleBroken
from functions.core.fields import IDENTIFIER
from functions.core.models import condition_failed, transaction_connection
from functions.stores.models import (
    SCENE,
    STAFF_PREFIX,
    STORE,
    STORES,
    SceneRow,
    StaffRow,
    StoreRow,
    scene_pk,
    scenes_gsi,
    staff_sk,
    store_pk,
)

# Store ids follow the identifier grammar (core.fields.StoreId); "_"-prefixed ones are reserved
# (UNKNOWN_STORE counts scans of scenes we never registered).
UNKNOWN_STORE = "_unknown"
RESERVED_PREFIX = "_"
# A scene is WeChat's scene_str (1-64 characters): `<store>/<staff>/<campaign>`, each part an
# identifier, empty parts trimmed from the end.
SCENE_MAX = 64
POINTS_SUFFIX = "#pts"
_PART = re.compile(IDENTIFIER)
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
    points_card: bool = False


@dataclass(frozen=True)
class ScanTarget:
    """A registered scene with its store's welcome: what a scan of it is attributed to."""

    scene: str
    store_id: str
    staff_id: str | None
    campaign: str | None
    welcome: str
    points: int | None = None  # a table card's points per scan


def _to_store(row: StoreRow) -> Store:
    return Store(row.store_id, row.name, row.welcome, row.pos_secret, row.created_at, row.updated_at)


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
    if store_id.startswith(RESERVED_PREFIX):
        raise RuleBroken(
            f"store ids starting with {RESERVED_PREFIX!r} are reserved", code="reserved_store_id"
        )
    name, welcome = name.strip(), welcome.strip()
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
        gsi1pk=STORES,
        gsi1sk=store_id,
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
            actions=[
                StoreRow.name.set(name),
                StoreRow.welcome.set(welcome),
                StoreRow.updated_at.set(at),
                StoreRow.gsi1pk.set(STORES),
                StoreRow.gsi1sk.set(store_id),
            ],
            condition=StoreRow.pk.exists(),
        )
    except UpdateError as error:  # deleted in between: not something this API does
        if condition_failed(error):
            raise NotFound(f"store {store_id} vanished", code="store_not_found") from None
        raise
    return _to_store(row), False


def encode_scene(
    store_id: str, staff_id: str | None = None, campaign: str | None = None, points_card: bool = False
) -> str:
    """`<store>/<staff>/<campaign>` with empty parts trimmed from the end, and `#pts` after a
    table card's (`#` is no identifier's, so a card never shares a scene with a plain code);
    at most 64 chars. The parts are identifiers (validated by the request's declaration)."""
    scene = "/".join([store_id, staff_id or "", campaign or ""]).rstrip("/")
    scene += POINTS_SUFFIX if points_card else ""
    if len(scene) > SCENE_MAX:
        raise RuleBroken(f"scene {scene!r} exceeds {SCENE_MAX} characters", code="scene_too_long")
    return scene


def decode_scene(scene: str) -> Scene | None:
    """The scene's store/staff/campaign if it has our shape, else None (never raises)."""
    if not scene or len(scene) > SCENE_MAX:
        return None
    full, points_card = scene, scene.endswith(POINTS_SUFFIX)
    scene = scene.removesuffix(POINTS_SUFFIX)
    if scene.count("/") > 2:
        return None
    store_id, staff_id, campaign = (scene.split("/") + ["", ""])[:3]
    if not _PART.match(store_id) or store_id.startswith(RESERVED_PREFIX):
        return None
    if any(part and not _PART.match(part) for part in (staff_id, campaign)):
        return None
    return Scene(full, store_id, staff_id or None, campaign or None, points_card)


def scan_target(scene: str) -> ScanTarget | None:
    """The registered scene and its store's welcome, or None for a scene that is not ours.

    One round trip (a TransactGet of both rows) with a single retry: the WeChat callback
    answers within 5 s.
    """
    decoded = decode_scene(scene)
    if decoded is None:
        return None
    with TransactGet(connection=transaction_connection(max_retry_attempts=1)) as get:
        scene_future = get.get(SceneRow, scene_pk(scene), SCENE)
        store_future = get.get(StoreRow, store_pk(decoded.store_id), STORE)
    try:
        row, store = scene_future.get(), store_future.get()
    except DoesNotExist:
        return None
    if row.store_id != store.store_id:
        return None
    points = int(row.points) if decoded.points_card and row.points is not None else None
    return ScanTarget(scene, row.store_id, row.staff_id, row.campaign, store.welcome, points)


def register_scene(scene: Scene, permanent: bool, points: int | None = None) -> None:
    """Record the scene so the callback can attribute scans (same scene again: same row);
    a table card's row holds its points per scan."""
    at = clock.iso(clock.now())
    SceneRow(
        scene_pk(scene.scene),
        SCENE,
        scene=scene.scene,
        store_id=scene.store_id,
        staff_id=scene.staff_id,
        campaign=scene.campaign,
        permanent=permanent,
        points=points,
        created_at=at,
        gsi1pk=scenes_gsi(scene.store_id),
        gsi1sk=f"{at}#{scene.scene}",
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


# -- what the ops console lists: stores, a store's staff and QR codes, each one Query --------


@dataclass(frozen=True)
class Staff:
    store_id: str
    staff_id: str
    name: str


@dataclass(frozen=True)
class QrCodeView:
    """A registered scene and the last code WeChat issued for it."""

    scene: str
    store_id: str
    staff_id: str | None
    campaign: str | None
    permanent: bool
    created_at: str
    ticket: str | None
    url: str | None
    expire_seconds: int | None
    points: int | None = None  # a table card's points per scan


def list_stores() -> list[Store]:
    """Every store, by id (one Query of the STORES index entry)."""
    return [_to_store(row) for row in StoreRow.every_store.query(STORES)]


def stores_named(store_ids: list[str]) -> dict[str, str]:
    """Display names of the given stores (the id where a store has no row)."""
    found = {store_id: store_id for store_id in store_ids}
    keys = [(store_pk(store_id), STORE) for store_id in dict.fromkeys(store_ids)]
    for row in StoreRow.batch_get(keys) if keys else []:
        found[row.store_id] = row.name
    return found


def put_staff(store_id: str, staff_id: str, name: str) -> Staff:
    """Name a staff member of the store (their counter card shows it)."""
    if get_store(store_id) is None:
        raise NotFound(f"store {store_id} does not exist", code="store_not_found")
    name = name.strip()
    StaffRow(
        store_pk(store_id),
        staff_sk(staff_id),
        staff_id=staff_id,
        name=name,
        updated_at=clock.iso(clock.now()),
    ).save()
    return Staff(store_id, staff_id, name)


def staff_of(store_id: str) -> list[Staff]:
    """The store's named staff members, by id."""
    rows = StaffRow.query(store_pk(store_id), StaffRow.sk.startswith(STAFF_PREFIX))
    return [Staff(store_id, row.staff_id, row.name) for row in rows]


def qrcodes_of(store_id: str, limit: int = 200) -> list[QrCodeView]:
    """The store's registered QR codes, newest first."""
    rows = SceneRow.by_store.query(scenes_gsi(store_id), scan_index_forward=False, limit=limit)
    return [_to_qrcode(row) for row in rows]


def get_qrcode(scene: str) -> QrCodeView | None:
    try:
        row = SceneRow.get(scene_pk(scene), SCENE)
    except DoesNotExist:
        return None
    return _to_qrcode(row)


def _to_qrcode(row: SceneRow) -> QrCodeView:
    expires = int(row.qr_expire_seconds) if row.qr_expire_seconds else None
    return QrCodeView(
        row.scene,
        row.store_id,
        row.staff_id,
        row.campaign,
        bool(row.permanent),
        row.created_at,
        row.ticket,
        row.url,
        expires,
        int(row.points) if row.points is not None else None,
    )
