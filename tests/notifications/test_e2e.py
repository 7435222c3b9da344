"""End to end against `make run`: sign in over HTTP, and a notification sent by the running worker."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
import requests

pytestmark = pytest.mark.e2e
ADMIN = {"X-Api-Key": "dev-admin-key"}


def queue_notification(stack, openid: str, notification_id: str) -> None:
    """What notify() does, written into the running stack's own tables and queue."""
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    session.client("dynamodb", endpoint_url=stack.moto_url).put_item(
        TableName="wx-local-notifications",
        Item={
            "pk": {"S": notification_id},
            "sk": {"S": "N"},
            "openid": {"S": openid},
            "kind": {"S": "shipment_status"},
            "fields": {
                "S": json.dumps(
                    {
                        "tracking_no": "SF1",
                        "status": "Parcel shipped",
                        "detail": "-",
                        "time": "2024-05-01 10:00",
                    }
                )
            },
            "status": {"S": "queued"},
            "attempts": {"N": "0"},
            "created_at": {"S": at},
            "updated_at": {"S": at},
            "history": {"L": [{"M": {"at": {"S": at}, "status": {"S": "queued"}}}]},
            "gsi2pk": {"S": openid},
            "gsi2sk": {"S": f"{at}#{notification_id}"},
        },
    )
    sqs = session.client("sqs", endpoint_url=stack.moto_url)
    url = sqs.get_queue_url(QueueName="wx-local-notifications")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"notification_id": notification_id}))


def wait_for_status(stack, notification_id: str, done: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    view: dict = {}
    while time.monotonic() < deadline:
        response = requests.get(
            f"{stack.url}/admin/notifications/{notification_id}", headers=ADMIN, timeout=5
        )
        if response.status_code == 200:
            view = response.json()
            if view["status"] in done:
                return view
        time.sleep(0.3)
    raise AssertionError(f"notification still {view.get('status')}: {view}")


def test_sign_in_and_me_over_http(stack):
    # Given WeChat's OAuth brought the H5 page a code
    openid = "o" + uuid.uuid4().hex[:27]
    signed_in = requests.get(f"{stack.url}/auth/wechat", params={"code": f"openid:{openid}"}, timeout=10)
    assert signed_in.status_code == 200 and signed_in.json()["openid"] == openid
    # Then the token opens /me, and a tampered one does not
    token = signed_in.json()["token"]
    me = requests.get(f"{stack.url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["openid"] == openid
    bad = requests.get(f"{stack.url}/me", headers={"Authorization": f"Bearer {token}x"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"
    assert requests.get(f"{stack.url}/auth/wechat", params={"code": "bad"}, timeout=10).status_code == 401


def test_the_running_worker_sends_a_queued_notification(stack):
    # Given a notification queued in the running stack
    openid = "o" + uuid.uuid4().hex[:27]
    notification_id = f"e2e-{uuid.uuid4().hex}"
    queue_notification(stack, openid, notification_id)
    # Then the stack's worker sends it, with the id as client_msg_id
    view = wait_for_status(stack, notification_id, {"sent", "delivered"})
    [message] = stack.sandbox_messages(openid)
    assert message["client_msg_id"] == notification_id and view["msgid"] == str(message["msgid"])


def test_the_running_worker_drops_a_message_to_a_non_follower(stack):
    # Given WeChat will answer 43004 for this customer
    openid = "o" + uuid.uuid4().hex[:27]
    requests.post(f"{stack.sandbox_url}/sandbox/unfollow", json={"openid": openid}, timeout=5)
    notification_id = f"e2e-{uuid.uuid4().hex}"
    queue_notification(stack, openid, notification_id)
    # Then the record says so, and ops see it in the customer's history
    wait_for_status(stack, notification_id, {"failed:not_following"})
    listed = requests.get(
        f"{stack.url}/admin/customers/{openid}/notifications", headers=ADMIN, timeout=5
    ).json()
    assert [n["notification_id"] for n in listed["notifications"]] == [notification_id]
