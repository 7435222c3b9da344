"""Ops define replenishable products; customers give or withdraw reminder consent."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.customers.domain import get_customer
from functions.reminders.products import get_product
from tests.conftest import customer_headers
from tests.reminders import support


def test_ops_sets_a_products_replenish_days(client, admin_headers):
    # Given a new SKU
    sku = support.sku()
    # When ops puts it with a replenishment period
    response = client.http.put(
        f"/admin/products/{sku}",
        headers=admin_headers,
        body=json.dumps({"name": "Essence", "replenish_days": 90}),
    )
    # Then it is stored and returned
    assert response.status_code == 200
    assert response.json_body == {
        "sku": sku,
        "name": "Essence",
        "replenish_days": 90,
        "warranty_months": None,
        "reminder_holdout_percent": 0,
    }
    assert get_product(sku).replenish_days == 90
    # And putting it again without replenish_days makes it non-replenishable
    again = client.http.put(
        f"/admin/products/{sku}", headers=admin_headers, body=json.dumps({"name": "Essence"})
    )
    assert again.json_body["replenish_days"] is None
    assert (
        client.http.get(f"/admin/products/{sku}", headers=admin_headers).json_body["replenish_days"] is None
    )


def test_products_need_the_admin_key(client):
    sku = support.sku()
    response = client.http.put(
        f"/admin/products/{sku}",
        headers={"Content-Type": "application/json", "X-Api-Key": "wrong"},
        body=json.dumps({"name": "x", "replenish_days": 30}),
    )
    assert response.status_code == 401
    assert response.json_body["error"] == "unauthorized"
    assert get_product(sku) is None


BAD_BODIES = st.one_of(
    st.fixed_dictionaries(
        {"name": st.one_of(st.none(), st.integers(), st.just(""), st.just("  "), st.text(min_size=101))}
    ),
    st.fixed_dictionaries(
        {
            "name": st.just("ok"),
            "replenish_days": st.one_of(
                st.integers(max_value=0),
                st.integers(min_value=3651),
                st.booleans(),
                st.floats(allow_nan=False),
                st.text(max_size=5),
            ),
        }
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BAD_BODIES)
def test_bad_product_bodies_are_refused_and_store_nothing(client, admin_headers, body):
    sku = support.sku()
    response = client.http.put(f"/admin/products/{sku}", headers=admin_headers, body=json.dumps(body))
    assert response.status_code in (400, 422)
    assert set(response.json_body) == {"error", "message"}
    assert get_product(sku) is None


@pytest.mark.parametrize("body", [b"not json", b"[1]", b"null"])
def test_a_body_that_is_not_a_json_object_is_a_400(client, admin_headers, body):
    sku = support.sku()
    response = client.http.put(f"/admin/products/{sku}", headers=admin_headers, body=body)
    assert response.status_code == 400
    assert get_product(sku) is None


def test_a_bad_sku_is_refused(client, admin_headers):
    response = client.http.put(
        "/admin/products/has%20space",
        headers=admin_headers,
        body=json.dumps({"name": "x", "replenish_days": 3}),
    )
    assert response.status_code == 400
    assert response.json_body["error"] == "invalid_sku"


def test_a_customer_gives_and_withdraws_consent(client):
    # Given a signed-in customer
    openid = support.openid()
    # When they turn reminders on
    on = client.http.put(
        "/me/preferences", headers=customer_headers(openid), body=json.dumps({"reminders": True})
    )
    # Then consent is stored
    assert on.status_code == 200 and on.json_body == {"reminders": True}
    assert get_customer(openid).reminder_consent is True
    # When they turn them off, it takes effect at once
    off = client.http.put(
        "/me/preferences", headers=customer_headers(openid), body=json.dumps({"reminders": False})
    )
    assert off.json_body == {"reminders": False}
    assert get_customer(openid).reminder_consent is False


@pytest.mark.parametrize("body", [{}, {"reminders": "yes"}, {"reminders": 1}, {"reminders": None}])
def test_bad_preferences_change_nothing(client, body):
    openid = support.openid()
    support.customer(openid, consent=True)
    response = client.http.put("/me/preferences", headers=customer_headers(openid), body=json.dumps(body))
    assert response.status_code == 400
    assert get_customer(openid).reminder_consent is True


def test_preferences_need_a_session(client):
    response = client.http.put(
        "/me/preferences", headers={"Content-Type": "application/json"}, body=json.dumps({"reminders": True})
    )
    assert response.status_code == 401
