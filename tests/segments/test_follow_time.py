"""`followed_days` counts from the current follow: a follower's later QR scan does not restart
it (customers.domain.follow_ops), a new follow after unfollowing does."""

from __future__ import annotations

from functions.core import txn
from functions.customers import domain as customers
from functions.customers.domain import Touch
from functions.customers.models import CustomerRow  # the stream carries this row's image
from tests.segments.conftest import uid


def touch(kind: str, at: str) -> Touch:
    return Touch(kind, "scene-1", "S1", None, None, at, uid("k"))


def test_a_scan_keeps_the_follow_time_and_a_new_follow_restarts_it(aws):
    openid = uid("o-")
    first, later, again = (
        "2026-01-01T00:00:00.000000Z",
        "2026-03-01T00:00:00.000000Z",
        "2026-05-01T00:00:00.000000Z",
    )
    txn.run(customers.follow_ops(openid, first, touch("subscribe", first)))
    txn.run(customers.follow_ops(openid, later, touch("scan", later)))
    assert customers.get_customer(openid).subscribed_at == first
    txn.run([customers.unsubscribe_op(openid, later)])
    txn.run(customers.follow_ops(openid, again, touch("subscribe", again)))
    assert customers.get_customer(openid).subscribed_at == again


def test_the_stream_image_decodes_to_the_customer(aws):
    row = CustomerRow(
        uid("o-"), subscribed=True, reminder_consent=True, first_store_id="S9", subscribed_at="x"
    )
    image = row.serialize()
    customer = customers.from_stream_image(image)
    assert (customer.openid, customer.first_store_id, customer.subscribed_at) == (row.pk, "S9", "x")
    assert customers.from_stream_image({**image, "sk": {"S": "TOUCH#1"}}) is None
