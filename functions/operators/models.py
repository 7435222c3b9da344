"""Storage rows of the operators table.

OperatorRow: pk = "OPERATOR#<username>", sk = "OPERATOR". The password only as its Argon2id
hash; `failures` and `locked_until` are the lockout, changed only by conditional writes so that
it holds across Lambda instances; `epoch` grows with every PUT, so a password reset ends the
sessions signed before it.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.core.models import TableMeta

OPERATOR = "OPERATOR"


def operator_pk(username: str) -> str:
    return f"OPERATOR#{username}"


class OperatorRow(Model):
    class Meta(TableMeta):
        table = "operators"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=OPERATOR)
    username = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    role = UnicodeAttribute()  # admin | store
    store_id = UnicodeAttribute(null=True)
    epoch = NumberAttribute(default=1)
    failures = NumberAttribute(null=True)  # failed sign-ins in a row
    locked_until = NumberAttribute(null=True)  # epoch seconds
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
