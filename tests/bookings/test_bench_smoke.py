"""The benchmark keeps working: a tiny run on the test moto (its figures are never asserted on)."""

from __future__ import annotations


def test_the_benchmark_runs_and_reports_its_figures(aws):
    from tests.perf import bench_bookings

    figures = bench_bookings.run(threads=6, per_thread=1)
    text = bench_bookings.report(figures)
    assert "bookings/s" in text and "calls per booking" in text
    # One booking is one order read and one transaction, which holds its message (the outbox):
    # nothing reaches SQS in the request.
    assert figures["calls_per_booking"] == {"GetItem": 1.0, "TransactWriteItems": 1.0}
