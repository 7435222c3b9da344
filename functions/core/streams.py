"""DynamoDB stream sources by logical table name, as `on_dynamodb_record` declares them.

Chalice takes a literal stream ARN, but a table's stream ARN is known only once the table
exists. Handlers declare `source("<logical table>")`, a placeholder that names the table;
infra/template.py replaces it with `Fn::GetAtt <Table>.StreamArn`, and the local event
runtime (infra/local/runtime.py) looks the stream up on the moto server.
"""

from __future__ import annotations

import re

_PLACEHOLDER = "arn:aws:dynamodb:::table/{table}/stream/latest"
_PATTERN = re.compile(r"^arn:aws:dynamodb:::table/([a-z0-9-]+)/stream/latest$")


def source(table: str) -> str:
    """The stream ARN to declare for the logical `table` of infra/data.yaml."""
    if not _PATTERN.match(_PLACEHOLDER.format(table=table)):
        raise ValueError(f"not a logical table name: {table!r}")
    return _PLACEHOLDER.format(table=table)


def table_of(arn: str) -> str | None:
    """The logical table a declared stream source names, or None if it is not one of ours."""
    found = _PATTERN.match(arn)
    return found.group(1) if found else None
