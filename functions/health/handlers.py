"""GET /health: 200 once the tables are reachable."""

from __future__ import annotations

from chalice import Response

from functions.core.aws import client
from functions.core.config import resource_name
from functions.core.http import Blueprint

blueprint = Blueprint(__name__)


@blueprint.route("/health", methods=["GET"])
def health() -> Response:
    try:
        client("dynamodb").describe_table(TableName=resource_name("idempotency"))
    except Exception as error:  # any failure means "not ready"
        return Response(body={"error": "tables_unreachable", "message": str(error)[:200]}, status_code=503)
    return Response(body={"status": "ok"})
