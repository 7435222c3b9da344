"""Benchmark: Kuaidi100 push ingestion.

A 20-event history is re-pushed 1,000 times across 100 shipments through the real HTTP handler
(form parsing, MD5 sign check, parsing, storage) on a moto server. It prints pushes per second,
DynamoDB calls per push (counted with botocore event hooks on every client), and same-run
baselines (GetItem/s and the partition Query/s a re-push needs), so figures compare as ratios.

    .venv/bin/python -m tests.perf.bench_logistics [--shipments 100] [--repushes 1000] [--events 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from typing import Any

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class CallCounter:
    """Counts every AWS call made by any botocore client created after install()."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def install(self) -> None:
        import botocore.session

        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            service = client.meta.service_model.service_name
            client.meta.events.register(
                f"before-call.{service}.*",
                lambda model, **_: counter.calls.update([f"{service}:{model.name}"]),
            )
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def attach_existing(self) -> None:
        """Also count on the clients that exist already (when run inside a test process)."""
        from functions.core.aws import client
        from functions.core.models import transaction_connection
        from functions.logistics.models import ShipmentEventRow, ShipmentRow
        from functions.orders.models import OrderRow, PurchaseLineRow

        clients = [
            m._get_connection().connection.client
            for m in (ShipmentRow, ShipmentEventRow, OrderRow, PurchaseLineRow)
        ]
        clients += [transaction_connection().client, client("sqs")]
        for existing in {id(c): c for c in clients}.values():
            service = existing.meta.service_model.service_name
            existing.meta.events.register(
                f"before-call.{service}.*",
                lambda model, service=service, **_: self.calls.update([f"{service}:{model.name}"]),
                unique_id=f"bench-count-{id(self)}-{service}",
            )

    def snapshot(self) -> Counter[str]:
        return Counter(self.calls)

    def since(self, before: Counter[str]) -> Counter[str]:
        return self.calls - before


def start_aws(prefix: str) -> Any:
    from tests.perf.harness import bench_environment

    bench_environment(prefix, QUIET_HOURS="off")
    from infra.local.stack import free_port, start_embedded_aws

    return start_embedded_aws(free_port(), prefix)


def history(n: int, final_state: str = "0") -> list[tuple[str, str, str | None]]:
    entries = [
        (f"2024-05-01 {8 + i // 60:02d}:{i % 60:02d}:00", f"【上海】运输中第{i}站", "0") for i in range(n)
    ]
    entries[0] = (entries[0][0], "【上海】已揽收", "1")
    return entries


def per_push(counts: Counter[str], pushes: int) -> dict[str, float]:
    dynamo = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("dynamodb:")}
    writes = sum(v for k, v in dynamo.items() if k in WRITES)
    reads = sum(v for k, v in dynamo.items() if k not in WRITES)
    sqs = sum(v for k, v in counts.items() if k.startswith("sqs:"))
    return {
        "dynamodb_writes": writes / pushes,
        "dynamodb_reads": reads / pushes,
        "sqs_calls": sqs / pushes,
        "detail": dict(sorted(dynamo.items())),  # type: ignore[dict-item]
    }


def run(shipments: int = 100, repushes: int = 1000, events: int = 20, own_aws: bool = True) -> dict[str, Any]:
    """own_aws=False runs on the moto server the environment already points at (the smoke test)."""
    counter = CallCounter()
    server = None
    if own_aws:
        counter.install()
        server = start_aws(f"wx-bench{os.getpid()}")
    else:
        counter.attach_existing()
    try:
        from chalice.test import Client

        from app import app
        from functions.logistics.models import SHIPMENT, ShipmentRow
        from functions.logistics.shipments import shipment_pk
        from functions.orders.domain import OrderInput, record_order
        from tests.logistics.support import FORM_HEADERS, kuaidi100_form, kuaidi100_param, unique

        numbers = [unique("YT") for _ in range(shipments)]
        for number in numbers:
            record_order(
                OrderInput(
                    unique("ord-"),
                    unique("o-"),
                    None,
                    [{"sku": "AC-1", "qty": 1, "price_cents": 1}],
                    1,
                    "2024-05-01T00:00:00Z",
                    None,
                    {"carrier": "yuantong", "tracking_no": number},
                )
            )
        forms = {n: kuaidi100_form(kuaidi100_param(n, history(events), "0")) for n in numbers}
        results: dict[str, Any] = {"shipments": shipments, "events": events, "repushes": repushes}

        with Client(app) as client:

            def push(form: str) -> None:
                response = client.http.post("/logistics/kuaidi100", headers=FORM_HEADERS, body=form)
                assert response.status_code == 200, response.body

            # First push of each history: every event is new, the status moves once.
            before, started = counter.snapshot(), time.perf_counter()
            for number in numbers:
                push(forms[number])
            elapsed = time.perf_counter() - started
            results["first_push"] = {
                "pushes_per_s": shipments / elapsed,
                **per_push(counter.since(before), shipments),
            }

            # The same history re-pushed: nothing new.
            before, started = counter.snapshot(), time.perf_counter()
            for i in range(repushes):
                push(forms[numbers[i % shipments]])
            elapsed = time.perf_counter() - started
            results["repush"] = {
                "pushes_per_s": repushes / elapsed,
                **per_push(counter.since(before), repushes),
            }

            # One new event that moves the status (out for delivery).
            grown = {
                n: kuaidi100_form(
                    kuaidi100_param(
                        n, [*history(events), ("2024-05-02 08:00:00", "【上海】派件中", "5")], "5"
                    )
                )
                for n in numbers
            }
            before, started = counter.snapshot(), time.perf_counter()
            for number in numbers:
                push(grown[number])
            elapsed = time.perf_counter() - started
            results["status_change"] = {
                "pushes_per_s": shipments / elapsed,
                **per_push(counter.since(before), shipments),
            }

        # Baselines on the same server, same process, same table: a single GetItem, and the one
        # consistent Query of a shipment's partition that a re-push costs (moto answers a Query
        # by walking the whole table, so this is the floor for any re-push here).
        started = time.perf_counter()
        for i in range(repushes):
            ShipmentRow.get(shipment_pk("yuantong", numbers[i % shipments]), SHIPMENT, consistent_read=True)
        results["baseline_getitem_per_s"] = repushes / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(repushes):
            list(ShipmentRow.query(shipment_pk("yuantong", numbers[i % shipments]), consistent_read=True))
        results["baseline_query_per_s"] = repushes / (time.perf_counter() - started)
        return results
    finally:
        if server is not None:
            server.stop()


def report(results: dict[str, Any]) -> str:
    base = results["baseline_query_per_s"]
    lines = [
        f"Kuaidi100 ingestion: {results['events']}-event history, {results['shipments']} shipments, "
        f"{results['repushes']} re-pushes (moto server, chalice.test.Client)",
        f"baselines: {results['baseline_getitem_per_s']:,.1f} GetItem/s, "
        f"{base:,.1f} partition Query/s (x Query = pushes/s divided by the latter)",
        f"{'case':<15}{'pushes/s':>10}{'x Query':>11}{'writes/push':>13}{'reads/push':>12}{'sqs/push':>10}",
    ]
    for case in ("first_push", "repush", "status_change"):
        r = results[case]
        lines.append(
            f"{case:<15}{r['pushes_per_s']:>10,.0f}{r['pushes_per_s'] / base:>11.2f}"
            f"{r['dynamodb_writes']:>13.2f}{r['dynamodb_reads']:>12.2f}{r['sqs_calls']:>10.2f}   {r['detail']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=100)
    parser.add_argument("--repushes", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args(argv)
    results = run(args.shipments, args.repushes, args.events)
    print(report(results))
    repush = results["repush"]
    if repush["dynamodb_writes"] != 0:
        print("FAIL: a re-push with nothing new wrote to DynamoDB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
