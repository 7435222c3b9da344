"""Repurchase reminders' routes: products, consent preferences, run stats, the report. The daily
job and its shard workers are in background.py."""

from __future__ import annotations

from datetime import date

from chalice import Response

from functions.core.errors import NotFound
from functions.core.fields import Sku
from functions.core.http import Blueprint
from functions.customers.domain import set_reminder_consent
from functions.reminders import stats
from functions.reminders.products import Product, get_product, put_product
from functions.reminders.report import reminders_report
from functions.reminders.requests import PreferencesBody, ProductBody, ReportQuery

blueprint = Blueprint(__name__)


@blueprint.route(
    "/admin/products/{sku}", methods=["PUT"], auth="admin", body=ProductBody, path_types={"sku": Sku}
)
def put_product_route(sku: str, body: ProductBody) -> Response:
    """Define a product, its replenishment period and its warranty."""
    product = put_product(
        Product(
            sku=sku,
            name=body.name.strip(),
            replenish_days=body.replenish_days,
            warranty_months=body.warranty_months,
            reminder_holdout_percent=body.reminder_holdout_percent,
        )
    )
    return Response(body=product.to_dict(), status_code=200)


@blueprint.route("/admin/products/{sku}", methods=["GET"], auth="admin", path_types={"sku": Sku})
def get_product_route(sku: str) -> Response:
    """A product."""
    product = get_product(sku)
    if product is None:
        raise NotFound(f"no product {sku}", code="product_not_found")
    return Response(body=product.to_dict())


@blueprint.route("/me/preferences", methods=["PUT"], auth="customer", body=PreferencesBody)
def put_preferences(openid: str, body: PreferencesBody) -> Response:
    """The customer's own reminder consent."""
    set_reminder_consent(openid, body.reminders)
    return Response(body={"reminders": body.reminders})


@blueprint.route("/admin/reminders/runs/{day}", methods=["GET"], auth="admin", path_types={"day": date})
def get_run_stats(day: date) -> Response:
    """A business date's run stats."""
    return Response(body=stats.run_stats(day))


@blueprint.route("/admin/reminders/report", methods=["GET"], auth="admin", query=ReportQuery)
def get_reminders_report(query: ReportQuery) -> Response:
    """Reminded customers against the products' holdouts, for reminders due in [from, to]."""
    return Response(body=reminders_report(query.from_, query.to, query.window_days))
