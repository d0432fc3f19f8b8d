"""Distinct counts: exact sets while small, a HyperLogLog sketch beyond.

HyperLogLog (Flajolet et al. 2007, with the linear-counting correction for small cardinalities): each id hashes to
64 bits; the first `p` bits pick one of m = 2^p registers, which keeps the longest run of leading zeros (+1) seen
in the remaining bits. The estimate's relative standard error is 1.04 / sqrt(m): with p = 12 (4,096 one-byte
registers, 4 KiB serialised) about 1.6%. Two sketches of the same precision merge by register-wise max, so the
sketch of a union is the merge of the sketches (minute buckets roll up to hours without re-reading ids).

Pure: no I/O. Serialisable to bytes (DynamoDB binary attributes).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

PRECISION = 12
_FORMAT_VERSION = 1
# Exact ids kept before a distinct count switches to the sketch: about 13 bytes an id in DynamoDB, so an exact
# set stays well under the 400 KB item limit and the sketch (4 KiB) is never much larger than the set it replaces.
EXACT_LIMIT = 1000


def _hash64(value: str) -> int:
    # A keyed-free, stable hash (Python's hash() is salted per process): blake2b truncated to 64 bits.
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")


def _alpha(m: int) -> float:
    if m == 16:
        return 0.673
    if m == 32:
        return 0.697
    if m == 64:
        return 0.709
    return 0.7213 / (1 + 1.079 / m)


@dataclass
class HyperLogLog:
    """A HyperLogLog sketch of a set of strings; relative standard error 1.04 / sqrt(2^precision)."""

    precision: int = PRECISION
    registers: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        if not 4 <= self.precision <= 16:
            raise ValueError("precision must be between 4 and 16")
        if not self.registers:
            self.registers = bytearray(1 << self.precision)
        elif len(self.registers) != 1 << self.precision:
            raise ValueError("register count does not match the precision")

    @property
    def standard_error(self) -> float:
        return 1.04 / math.sqrt(1 << self.precision)

    def add(self, value: str) -> None:
        h = _hash64(value)
        index = h >> (64 - self.precision)
        rest_bits = 64 - self.precision
        rest = h & ((1 << rest_bits) - 1)
        rank = rest_bits - rest.bit_length() + 1  # leading zeros of the remaining bits, plus one
        if rank > self.registers[index]:
            self.registers[index] = rank

    def update(self, values: Iterable[str]) -> None:
        for value in values:
            self.add(value)

    def merge(self, other: HyperLogLog) -> None:
        """Register-wise max: afterwards this sketch estimates the union of both sets."""
        if other.precision != self.precision:
            raise ValueError("cannot merge sketches of different precisions")
        self.registers = bytearray(max(a, b) for a, b in zip(self.registers, other.registers, strict=True))

    def estimate(self) -> int:
        m = len(self.registers)
        raw = _alpha(m) * m * m / sum(2.0**-r for r in self.registers)
        zeros = self.registers.count(0)
        if raw <= 2.5 * m and zeros:
            return round(m * math.log(m / zeros))  # linear counting: accurate while many registers are empty
        return round(raw)

    def to_bytes(self) -> bytes:
        return bytes([_FORMAT_VERSION, self.precision]) + bytes(self.registers)

    @classmethod
    def from_bytes(cls, data: bytes) -> HyperLogLog:
        if len(data) < 2 or data[0] != _FORMAT_VERSION:
            raise ValueError("not a serialised HyperLogLog")
        return cls(precision=data[1], registers=bytearray(data[2:]))

    def copy(self) -> HyperLogLog:
        return HyperLogLog(self.precision, bytearray(self.registers))


@dataclass
class Distinct:
    """A distinct count that is exact (`ids`) up to `limit` ids and a sketch (`sketch`, ids None) beyond.

    Merging keeps it exact while the union stays within the limit; once either side is a sketch the result is one.
    """

    ids: set[str] | None = field(default_factory=set)
    sketch: HyperLogLog | None = None
    limit: int = EXACT_LIMIT

    @property
    def exact(self) -> bool:
        return self.ids is not None

    def add_all(self, values: Iterable[str]) -> None:
        if self.ids is not None:
            self.ids.update(values)
            self._spill_if_large()
        else:
            assert self.sketch is not None
            self.sketch.update(values)

    def merge(self, other: Distinct) -> None:
        if other.ids is not None:
            self.add_all(other.ids)
            return
        assert other.sketch is not None
        if self.ids is not None:
            self.sketch = other.sketch.copy()
            self.sketch.update(self.ids)
            self.ids = None
        else:
            assert self.sketch is not None
            self.sketch.merge(other.sketch)

    def count(self) -> int:
        if self.ids is not None:
            return len(self.ids)
        assert self.sketch is not None
        return self.sketch.estimate()

    def _spill_if_large(self) -> None:
        if self.ids is not None and len(self.ids) > self.limit:
            self.sketch = HyperLogLog()
            self.sketch.update(self.ids)
            self.ids = None
