"""No input gets a 5xx (CONTRACT §1): every console page and form, sent anything at all by a
signed-in admin, answers a page or a 4xx and never an error of ours."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.console.test_roles import CASES

FIELDS = [
    "from",
    "to",
    "date",
    "area",
    "scene",
    "staff",
    "staff_name",
    "permanent",
    "window",
    "capacity",
    "campaign_id",
    "title",
    "kind",
    "amount",
    "min_spend",
    "valid_from",
    "valid_to",
    "total_limit",
    "per_customer_limit",
    "trigger",
    "trigger_skus",
    "trigger_stores",
    "openids",
    "queue",
    "next",
    "username",
    "password",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e309",
            "nan",
            "inf",
            "0001-01-01",
            "9999-12-31",
            "2026-02-30",
            "on",
            "fixed",
            "percent",
            "purchase",
            "24:00-25:00",
            "notifications-dlq",
            "\ud800",
        ]
    ),
)
FORMS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(sorted(set(CASES) - {("POST", "/console/logout")})), fields=FORMS)
def test_no_console_input_gets_a_5xx(admin, route, fields):
    method, path = route
    path = path.replace("{store_id}", "st-x").replace("{campaign_id}", "cp-x")
    raw = {k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()}  # lone surrogates too
    if method == "GET":
        query = urlencode(raw)
        answer = admin.get(f"{path}?{query}" if query else path)
    else:
        token = admin.get("/console/reminders").csrf
        answer = admin.post(path, {"csrf_token": token, **raw})
    assert answer.status < 500, (route, fields, answer.text[:300])
