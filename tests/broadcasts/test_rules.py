"""The rules a broadcast lives by, without storage: chunk sizes, the holdout, the report's sums."""

from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.broadcasts.domain import MAX_CHUNK, balanced_chunks, balanced_chunks_sizes
from functions.core import measure


@given(st.integers(min_value=2, max_value=200_000))
def test_chunks_cover_the_audience_in_as_few_balanced_chunks_as_wechat_allows(n):
    sizes = balanced_chunks_sizes(n)
    assert sum(sizes) == n
    assert len(sizes) == math.ceil(n / MAX_CHUNK)
    assert all(2 <= size <= MAX_CHUNK for size in sizes)  # never one openid alone
    assert max(sizes) - min(sizes) <= 1


def test_chunks_keep_every_openid_once_in_order():
    openids = [f"o{i:05d}" for i in range(10_001)]
    chunks = balanced_chunks(openids)
    assert [len(c) for c in chunks] == [5001, 5000]
    assert [o for c in chunks for o in c] == openids


@settings(max_examples=30, deadline=None)
@given(percent=st.integers(min_value=0, max_value=50), key=st.text(min_size=1, max_size=30))
def test_the_holdout_is_stable_and_near_its_percentage(percent, key):
    openids = [f"o{i}" for i in range(20_000)]
    first = [measure.held_out(key, o, percent) for o in openids]
    # Stable: the same members on every evaluation (every retry, every process).
    assert first == [measure.held_out(key, o, percent) for o in openids]
    share = 100 * sum(first) / len(openids)
    # Binomial: 20,000 draws, sd <= 0.36 points; 2 points is more than 5 sd.
    assert abs(share - percent) <= 2.0
    if percent == 0:
        assert share == 0


def test_the_holdout_differs_between_broadcasts():
    openids = [uuid.uuid4().hex for _ in range(2000)]
    a = {o for o in openids if measure.held_out("bc-a", o, 20)}
    b = {o for o in openids if measure.held_out("bc-b", o, 20)}
    assert a != b


def test_the_report_arithmetic_on_known_numbers():
    # 100 recipients, 30 bought; 50 held out, 10 bought.
    report = measure.compare(measure.Group(100, 30, 90_000), measure.Group(50, 10, 20_000))
    assert report["recipients"] == {"members": 100, "buyers": 30, "revenue_cents": 90_000, "conversion": 0.3}
    assert report["holdout"]["conversion"] == 0.2
    uplift = report["uplift"]
    se = math.sqrt(0.3 * 0.7 / 100 + 0.2 * 0.8 / 50)  # 0.0728011
    assert uplift["difference"] == pytest.approx(0.1)
    assert uplift["standard_error"] == pytest.approx(0.072801, abs=1e-6)
    assert uplift["low"] == pytest.approx(0.1 - 1.959964 * se, abs=1e-6)  # -0.042688
    assert uplift["high"] == pytest.approx(0.1 + 1.959964 * se, abs=1e-6)  # 0.242688
    assert uplift["low"] == pytest.approx(-0.042688, abs=1e-6)


def test_no_uplift_without_a_holdout():
    assert measure.compare(measure.Group(10, 1, 100), measure.Group(0, 0, 0))["uplift"] is None
