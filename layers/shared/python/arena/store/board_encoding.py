"""How a board snapshot becomes DynamoDB attribute values: buckets and the index as compact bytes.

A bucket item and the index (stored in HEAD and in every IDX# copy, and read on every leaderboard request) must
stay far below DynamoDB's 400 KB item limit and cost few read units, so both are columnar JSON, zlib-compressed.
A bucket drops what its board key already says (the user id, the score as written), checked exactly at encode
time, so decoding gives back equal entries with identical score strings.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from decimal import Context, Decimal
from typing import Any

from arena.domain.board import BoardEntry, BoardIndex, BucketRef

_BUCKET_FORMAT = 1
# Wide enough that re-quantizing a key's score to a stored exponent never rounds or overflows.
_EXACT_CONTEXT = Context(prec=2000, Emin=-(10**6), Emax=10**6)


def _score_from_key(key: str) -> Decimal | None:
    """The score a ranking.board_key starts with (normalised), or None if the key does not parse as one."""
    head = key.split("|", 1)[0]
    try:
        if head == "O":
            return Decimal(0)
        kind, exponent, digits, end = head[0], head[1:5], head[5:-1], head[-1]
        if not (digits.isascii() and digits.isdigit() and exponent.isascii() and exponent.isdigit()):
            return None
        if kind == "P" and end == "#":
            sign, adjusted = 0, int(exponent) - 500
        elif kind == "N" and end == "~":
            sign, adjusted = 1, 9999 - int(exponent) - 500
            digits = "".join(str(9 - int(d)) for d in digits)
        else:
            return None
        return Decimal((sign, tuple(int(d) for d in digits), adjusted - len(digits) + 1))
    except (IndexError, ValueError):
        return None


def _user_from_key(key: str) -> str | None:
    cut = key.rfind("|")
    return key[cut + 1 :] if cut >= 0 else None


def _key_user(key: str) -> str:
    """The user of a key the encoder found it in (its column holds 0 then)."""
    user = _user_from_key(key)
    if user is None:
        raise ValueError(f"bucket key {key!r} names no user")
    return user


def _pack_score(key: str, score: Decimal) -> str | int | None:
    """None: the key's score as is; int e: the key's score at exponent e; str: the score itself."""
    derived = _score_from_key(key)
    if derived is not None and derived == score:
        if str(derived) == str(score):
            return None
        exponent = score.as_tuple().exponent
        try:
            if isinstance(exponent, int) and str(_unpack_score(key, exponent)) == str(score):
                return exponent
        except ArithmeticError:
            pass
    return str(score)


def _unpack_score(key: str, packed: str | int | None) -> Decimal:
    if isinstance(packed, str):
        return Decimal(packed)
    derived = _score_from_key(key)
    if derived is None:
        raise ValueError(f"no score in key {key!r}")
    return (
        derived
        if packed is None
        else derived.quantize(Decimal(1).scaleb(packed, _EXACT_CONTEXT), context=_EXACT_CONTEXT)
    )


def encode_bucket(entries: Iterable[BoardEntry]) -> bytes:
    """Compact bytes: a format byte, then zlib-compressed JSON columns
    [keys, user_ids, scores, trade_counts, qualified ("0"/"1" string), versions].

    Redundancy with the board key is dropped, verified exactly at encode time: a user id is 0 when it is the key's
    last "|" field, a score is null when it is the key's score as written, or its exponent when it is the same
    value written with more digits (e.g. 12.50); anything else is stored as is (scores as exact strings).
    Decoding gives back equal entries with identical score strings.
    """
    entries = list(entries)
    for e in entries:
        if not e.score.is_finite():
            raise ValueError("scores must be finite")
    columns = [
        [e.key for e in entries],
        [0 if _user_from_key(e.key) == e.user_id else e.user_id for e in entries],
        [_pack_score(e.key, e.score) for e in entries],
        [e.trade_count for e in entries],
        "".join("1" if e.qualified else "0" for e in entries),
        [e.version for e in entries],
    ]
    text = json.dumps(columns, separators=(",", ":"), ensure_ascii=False)
    # Level 6: close to level 9's size at a fraction of its CPU (the refresher encodes every write).
    return bytes([_BUCKET_FORMAT]) + zlib.compress(text.encode("utf-8"), 6)


def decode_bucket(data: bytes) -> list[BoardEntry]:
    if not data or data[0] != _BUCKET_FORMAT:
        raise ValueError("unknown bucket format")
    keys, users, scores, trade_counts, qualified, versions = json.loads(zlib.decompress(data[1:]).decode("utf-8"))
    if not len(keys) == len(users) == len(scores) == len(trade_counts) == len(qualified) == len(versions):
        raise ValueError("bucket columns differ in length")
    return [
        BoardEntry(
            key=key,
            user_id=_key_user(key) if user == 0 else user,
            score=_unpack_score(key, score),
            trade_count=trade_count,
            qualified=q == "1",
            version=version,
        )
        for key, user, score, trade_count, q, version in zip(
            keys, users, scores, trade_counts, qualified, versions, strict=True
        )
    ]


def index_to_dict(index: BoardIndex) -> dict[str, Any]:
    """JSON-safe, columnar: {"g": generation, "ids": [...], "low": [...], "n": [...], "q": [...]}."""
    refs = index.buckets
    return {
        "g": index.generation,
        "ids": [r.bucket_id for r in refs],
        "low": [r.low_key for r in refs],
        "n": [r.count for r in refs],
        "q": [r.qualified for r in refs],
    }


def index_from_dict(d: Mapping[str, Any]) -> BoardIndex:
    ids, lows, counts, qualified = d["ids"], d["low"], d["n"], d["q"]
    if not len(ids) == len(lows) == len(counts) == len(qualified):
        raise ValueError("index columns differ in length")
    refs = tuple(
        BucketRef(str(b), str(lo), int(n), int(q)) for b, lo, n, q in zip(ids, lows, counts, qualified, strict=True)
    )
    return BoardIndex(int(d["g"]), refs)


def pack_index(index: BoardIndex) -> bytes:
    """The index as a compressed binary attribute (HEAD and the IDX# copies)."""
    return zlib.compress(json.dumps(index_to_dict(index), separators=(",", ":")).encode(), 6)


def unpack_index(data: Any) -> BoardIndex:
    """A stored index back (a boto3 Binary or plain bytes)."""
    return index_from_dict(json.loads(zlib.decompress(bytes(data.value if hasattr(data, "value") else data))))
