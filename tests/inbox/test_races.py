"""Races against the moto server: WeChat's retries of several questions at once, escalation runs
racing each other and racing an answer. The invariants hold in DynamoDB's conditions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from functions.core import clock, txn
from functions.inbox import domain
from functions.inbox.models import ConversationRow
from infra.local.wechat_sim import deliver
from tests.callback.stories import new_id
from tests.inbox.conftest import follower, sim
from tests.races import ask, ask_http


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def figures(store_id: str) -> domain.ServiceFigures:
    today = clock.business_date()
    return domain.service_figures(store_id, today - timedelta(days=2), today + timedelta(days=2))


@pytest.mark.slow
def test_three_questions_each_delivered_three_times_at_once_are_stored_once_each(client, store):
    # Given a follower of the store and a warm container
    openid = follower(client, store)
    # When three questions arrive at once, each delivered three times (WeChat's retries racing);
    # a delivery answered 5xx (a conflict on the new conversation) is delivered again, as WeChat does
    now = clock.now_ts()
    xmls = [sim.text(openid, f"问题{n}", msg_id=f"9{n}", create_time=now) for n in range(3)]
    calls = [
        (
            lambda xml=xml, n=n: ask_http(
                lambda: deliver(client, sim, xml, nonce=str(n)), status=lambda r: r[0]
            )
        )
        for xml in xmls
        for n in range(3)
    ]
    results = at_once(calls)
    # Then every delivery is answered, and the conversation holds each question once
    assert all(status == 200 for status, _ in results), results
    cid = domain.conversation_id(store, openid)
    texts = sorted(m.text for m in domain.get_conversation(cid).messages)
    assert texts == ["问题0", "问题1", "问题2"]
    assert ConversationRow.get(f"CONV#{cid}", "CONV", consistent_read=True).messages == 3


@pytest.mark.slow
def test_racing_escalation_runs_escalate_once(client, store, patient_clients):
    openid = new_id("o")
    _, ops = domain.intake(store, domain.Incoming(openid, "text", "k1", text="有人吗"))

    txn.run(ops)
    clock.set_now(clock.now() + timedelta(minutes=31))
    answers = at_once([lambda: ask(domain.escalate_overdue) for _ in range(6)])
    assert all(a.refusal is None for a in answers)
    cid = domain.conversation_id(store, openid)
    assert domain.get_conversation(cid, False).status == "escalated"
    assert figures(store).escalations == 1


@pytest.mark.slow
def test_an_answer_racing_the_escalation_is_never_escalated_after_it(client, store, patient_clients):
    for _ in range(5):
        openid = new_id("o")
        txn.run(domain.intake(store, domain.Incoming(openid, "text", "k1", text="有人吗"))[1])
        cid = domain.conversation_id(store, openid)
        clock.set_now(clock.now() + timedelta(minutes=31))
        answers = at_once(
            [lambda: ask(domain.escalate_overdue), lambda cid=cid: ask(lambda: domain.reply(cid, "您好"))]
        )
        clock.set_now(None)
        assert all(a.refusal is None for a in answers), answers
        # Whichever came first, the answer ends the waiting: the conversation is open and answered
        found = domain.get_conversation(cid)
        assert found.status == "open" and found.awaiting_since is None
        assert [m.sender for m in found.messages] == ["customer", "staff"]
    assert figures(store).escalations <= 5 and figures(store).first_responses == 5
