"""arena.domain.sketch: HyperLogLog accuracy, merging, serialisation, and exact-then-sketch distinct counts."""

from __future__ import annotations

import pytest
from arena.domain.sketch import EXACT_LIMIT, Distinct, HyperLogLog


@pytest.mark.parametrize("cardinality", [10, 1_000, 20_000, 100_000])
def test_estimate_is_within_four_standard_errors(cardinality: int) -> None:
    """Given a sketch of `cardinality` distinct ids (each added twice: repeats change nothing)
    When estimated
    Then the error is within 4 standard errors (1.04/sqrt(4096) = 1.6%)."""
    sketch = HyperLogLog()
    ids = [f"user-{i}" for i in range(cardinality)]
    sketch.update(ids)
    sketch.update(ids)

    # When / Then
    error = abs(sketch.estimate() - cardinality) / cardinality
    assert error <= 4 * sketch.standard_error


def test_merge_estimates_the_union_and_equals_the_sketch_of_the_union() -> None:
    """Given two overlapping sets
    When merged
    Then the registers are exactly those of the union's sketch"""
    a, b, union = HyperLogLog(), HyperLogLog(), HyperLogLog()
    a.update(f"u{i}" for i in range(0, 6000))
    b.update(f"u{i}" for i in range(4000, 10000))
    union.update(f"u{i}" for i in range(0, 10000))

    # When
    a.merge(b)

    # Then
    assert a.registers == union.registers
    assert abs(a.estimate() - 10000) <= 10000 * 4 * a.standard_error


def test_round_trip_through_bytes() -> None:
    """Given a sketch of 500 traders
    When it is written to bytes and read back
    Then it is 2 + 4096 bytes and equals the original."""
    sketch = HyperLogLog()
    sketch.update(f"trader-{i}" for i in range(500))
    data = sketch.to_bytes()
    assert len(data) == 2 + 4096
    assert HyperLogLog.from_bytes(data) == sketch


def test_bad_bytes_and_mismatched_precisions_are_refused() -> None:
    """Given malformed bytes, and two sketches of different precisions
    When the bytes are read and the sketches merged
    Then both are refused with ValueError."""
    with pytest.raises(ValueError):
        HyperLogLog.from_bytes(b"\x09\x0c")
    with pytest.raises(ValueError):
        HyperLogLog(12).merge(HyperLogLog(10))


def test_distinct_is_exact_until_the_limit_then_a_sketch() -> None:
    """Given an exact count with a small limit
    When it passes the limit
    Then it becomes a sketch that still counts about right."""
    small = Distinct(limit=3)
    small.add_all(["a", "b", "a"])
    assert small.exact and small.count() == 2

    # When / Then
    small.add_all(["c", "d"])
    assert not small.exact and small.count() == 4


def test_distinct_merges_exact_with_sketch() -> None:
    """Given one exact and one sketched count
    When the exact one takes the sketch in
    Then it is a sketch of the union"""
    exact = Distinct()
    exact.add_all(["a", "b"])
    big = Distinct()
    big.add_all(f"x{i}" for i in range(EXACT_LIMIT + 1))
    assert not big.exact

    # When
    exact.merge(big)

    # Then
    assert not exact.exact
    assert abs(exact.count() - (EXACT_LIMIT + 3)) <= 0.07 * EXACT_LIMIT
