"""The benchmark keeps working: a tiny run on the test moto (its figures are never asserted on)."""

from __future__ import annotations


def test_the_benchmark_runs_and_reports_its_figures(aws):
    from tests.perf import bench_bookings

    figures = bench_bookings.run(threads=6, per_thread=1)
    text = bench_bookings.report(figures)
    assert "bookings/s" in text and "calls per booking" in text
    # One booking is one order read, one read of the area's name for its message
    # (`静安区 周三 09:00-12:00`) and one transaction, which holds that message (the outbox):
    # nothing reaches SQS in the request.
    assert figures["calls_per_booking"] == {"GetItem": 2.0, "TransactWriteItems": 1.0}
