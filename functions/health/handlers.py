"""GET /health: 200 once the tables are reachable. GET /openapi.json: the API's description."""

from __future__ import annotations

from chalice import Response

from functions.core import openapi
from functions.core.aws import client
from functions.core.config import resource_name
from functions.core.http import Blueprint

blueprint = Blueprint(__name__)


@blueprint.route("/health", methods=["GET"])
def health() -> Response:
    """200 once the tables are reachable, else 503."""
    try:
        client("dynamodb").describe_table(TableName=resource_name("idempotency"))
    except Exception as error:  # any failure means "not ready"
        return Response(body={"error": "tables_unreachable", "message": str(error)[:200]}, status_code=503)
    return Response(body={"status": "ok"})


@blueprint.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API, built from the route declarations."""
    # Built on the first request of this container, once every blueprint has declared its routes.
    return Response(body=openapi.document_json(), headers={"Content-Type": "application/json"})
