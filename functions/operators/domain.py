"""Operator accounts (CONTRACT §10): created by ops with the admin key, signed in on the console.

- A password is stored only as its Argon2id hash (argon2-cffi, its RFC 9106 defaults): memory-
  hard, salted, and re-hashed on sign-in when the parameters change. It is never logged.
- Five failed sign-ins in a row lock the account for 15 minutes: the fifth answers 401, every
  attempt after it 423, whatever the password. The count and the lock live in the operator's
  row and change only by conditional writes, so they hold across Lambda instances and racing
  attempts (each failure's ADD returns its own count: exactly one attempt is the fifth).
- A session names the operator and the row's `epoch`; a PUT (a password reset, a new role)
  bumps the epoch, which ends every session signed before it.

argon2 is imported on the first hash, not at import (the API function's cold start).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from functions.core import clock
from functions.core.errors import Locked, NotFound, RuleBroken, Unauthenticated
from functions.core.models import condition_failed
from functions.core.session import issue_token, verify_token
from functions.operators.models import OPERATOR, OperatorRow, operator_pk
from functions.stores.domain import get_store

Role = Literal["admin", "store"]
MAX_FAILURES = 5
LOCK_S = 15 * 60
MIN_PASSWORD = 12
MAX_PASSWORD = 256
AUDIENCE = "console"


@dataclass(frozen=True)
class Operator:
    username: str
    role: str
    store_id: str | None
    epoch: int = 1

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_see(self, store_id: str) -> bool:
        """An admin sees every store; a store operator only their own."""
        return self.is_admin or self.store_id == store_id


def _to_domain(row: OperatorRow) -> Operator:
    return Operator(row.username, row.role, row.store_id or None, int(row.epoch or 1))


@functools.cache
def _hasher() -> Any:
    from argon2 import PasswordHasher  # lazily: see the module's docstring

    return PasswordHasher()


@functools.cache
def _decoy_hash() -> str:
    """Verified against for unknown usernames, so that they cost the same time as known ones."""
    return _hasher().hash("decoy password, never anyone's")


def _verify(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def _get(username: str) -> OperatorRow | None:
    try:
        return OperatorRow.get(operator_pk(username), OPERATOR, consistent_read=True)
    except DoesNotExist:
        return None


def get_operator(username: str) -> Operator | None:
    row = _get(username)
    return _to_domain(row) if row else None


def put_operator(username: str, password: str, role: Role, store_id: str | None) -> tuple[Operator, bool]:
    """Create or replace the operator (a new password, role or store; the lock lifted).
    Returns (operator, created)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise RuleBroken(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", code="password_too_short"
        )
    if role == "store":
        if not store_id:
            raise RuleBroken("a store operator needs a store_id", code="store_required")
        if get_store(store_id) is None:
            raise NotFound(f"store {store_id} does not exist", code="store_not_found")
    else:
        store_id = None
    at = clock.iso(clock.now())
    password_hash = _hasher().hash(password)
    row = OperatorRow(
        operator_pk(username),
        OPERATOR,
        username=username,
        password_hash=password_hash,
        role=role,
        store_id=store_id,
        epoch=1,
        failures=0,
        created_at=at,
        updated_at=at,
    )
    try:
        row.save(condition=OperatorRow.pk.does_not_exist())
        return _to_domain(row), True
    except PutError as error:
        if not condition_failed(error):
            raise
    row = OperatorRow(operator_pk(username), OPERATOR)
    row.update(
        actions=[
            OperatorRow.password_hash.set(password_hash),
            OperatorRow.role.set(role),
            OperatorRow.store_id.set(store_id) if store_id else OperatorRow.store_id.remove(),
            OperatorRow.epoch.add(1),
            OperatorRow.failures.set(0),
            OperatorRow.locked_until.remove(),
            OperatorRow.updated_at.set(at),
        ]
    )
    return _to_domain(row), False


def _not_locked(now: int) -> Any:
    return OperatorRow.locked_until.does_not_exist() | (OperatorRow.locked_until <= now)


def sign_in(username: str, password: str) -> Operator:
    """The operator, or Unauthenticated (wrong username or password) or Locked."""
    now = clock.now_ts()
    row = _get(username)
    if row is None:
        _verify(_decoy_hash(), password)
        raise Unauthenticated("wrong username or password", code="wrong_password")
    if row.locked_until is not None and int(row.locked_until) > now:
        raise Locked("too many failed sign-ins: try again later", code="account_locked")
    if not _verify(row.password_hash, password):
        _count_failure(username, now)
    actions = [OperatorRow.failures.set(0)]
    if _hasher().check_needs_rehash(row.password_hash):
        actions.append(OperatorRow.password_hash.set(_hasher().hash(password)))
    try:  # the right password still fails while another attempt has just locked the account
        OperatorRow(operator_pk(username), OPERATOR).update(actions=actions, condition=_not_locked(now))
    except UpdateError as error:
        if condition_failed(error):
            raise Locked("too many failed sign-ins: try again later", code="account_locked") from None
        raise
    return _to_domain(row)


def _count_failure(username: str, now: int) -> None:
    """Count a failed attempt; the fifth locks the account (401), any later one is 423."""
    row = OperatorRow(operator_pk(username), OPERATOR)
    try:
        row.update(
            actions=[OperatorRow.failures.add(1)],
            condition=OperatorRow.pk.exists() & _not_locked(now),
        )
    except UpdateError as error:
        if condition_failed(error):
            raise Locked("too many failed sign-ins: try again later", code="account_locked") from None
        raise
    failures = int(row.failures or 0)
    if failures > MAX_FAILURES:
        raise Locked("too many failed sign-ins: try again later", code="account_locked")
    if failures == MAX_FAILURES:
        try:
            OperatorRow(operator_pk(username), OPERATOR).update(
                actions=[OperatorRow.locked_until.set(now + LOCK_S), OperatorRow.failures.set(0)],
                condition=OperatorRow.failures >= MAX_FAILURES,
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
    raise Unauthenticated("wrong username or password", code="wrong_password")


# -- sessions -------------------------------------------------------------------------------


def session_token(operator: Operator, ttl_s: int) -> str:
    return issue_token(f"{operator.epoch}/{operator.username}", ttl_s, audience=AUDIENCE)


def from_session(token: str) -> Operator | None:
    """The operator a console session names, if it is valid and not ended by a later PUT."""
    try:
        subject = verify_token(token, audience=AUDIENCE)
    except (Unauthenticated, ValueError, UnicodeDecodeError):
        return None
    epoch, _, username = subject.partition("/")
    operator = get_operator(username) if username else None
    if operator is None or str(operator.epoch) != epoch:
        return None
    return operator
