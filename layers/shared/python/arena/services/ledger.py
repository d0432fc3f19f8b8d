"""The points ledger: balances plus append-only, double-entry postings (the seed's UserPointService).

Delivery guarantees
-------------------
* **Idempotent by idempotency key.** `post` applies a posting at most once per key, forever: a repeat with the
  same legs and kind returns the posting first applied (its id, time and memo), however many times and from
  however many threads or Lambdas at once. The same key with other legs or another kind is a Conflict
  (``idempotency_key_reused``): a key names one movement of points, not a slot to reuse. At-least-once callers
  (queues, streams, retried HTTP calls, Step Functions) are welcome: derive the key from what is being paid
  (``prize:<event>:<user>``), not from the attempt.
* **Never partial.** A posting is one DynamoDB transaction: its idempotency record, every balance and every
  entry line are written together or not at all. Balances therefore always equal the sum of their entry lines,
  and the sum over all accounts is always exactly zero.
* **Exact.** Amounts are Decimals checked by `arena.domain.ledger` (no floats, no rounding, ever).
* **Floors.** A user account never goes below zero: a debit that would is refused whole (Conflict
  ``insufficient_balance``), checked by DynamoDB in the same transaction, so concurrent debits cannot overdraw.
  Issuance, treasury and event pools may go negative.
* A refused posting (invalid legs, reused key, insufficient balance) is final for its key's current state;
  a transient failure (a concurrent transaction on the same balances, throttling) is retried here, and if it
  persists surfaces as Conflict ``ledger_busy``, which the caller retries with the same key.

How later work uses it: a prize credit is ``post(transfer(event_pool_account(e), user_account(u), amount),
f"prize:{e}:{u}", "prize_credit")``; a rollback is ``reverse(f"prize:{e}:{u}", f"prize-rollback:{e}:{u}")``
(compensating entries, never a deletion); an expired prize returns with a transfer back to the pool.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from arena import clock
from arena.auth import Principal
from arena.domain import exact
from arena.domain import ledger as rules
from arena.domain.ledger import Entry, Leg, Posting
from arena.errors import BadRequest, Conflict, InvalidInput, NotFound
from arena.ids import new_id
from arena.models.ledger import MyPoints, PointsEntry
from arena.store import dynamo
from arena.store import ledger as store
from arena.store.ledger import WriteStatus

# Transient cancellations (TransactionConflict, throttling) are retried this often, 25 ms doubling, jittered.
MAX_ATTEMPTS = 8
_BACKOFF_SECONDS = 0.025


@dataclass(frozen=True)
class HistoryPage:
    account: str
    entries: list[Entry]
    next_cursor: str | None


def _moment(at: datetime | None) -> datetime:
    if at is None:
        at = clock.now()
    if at.tzinfo is None:
        raise InvalidInput("A posting's time must carry a time zone.", code="invalid_time")
    # Stored with millisecond precision: the posting returned first equals the one a repeat reads back.
    return clock.from_iso(clock.to_iso(at))


def post(
    legs: Iterable[Leg | tuple[str, Decimal]],
    idempotency_key: str,
    kind: str,
    memo: str | None = None,
    at: datetime | None = None,
    with_actions: Sequence[dict[str, Any]] = (),
) -> Posting:
    """Post balanced legs once under `idempotency_key` and return the posting (the first one, on a repeat).

    `with_actions`: the caller's own DynamoDB actions, written in the same transaction (all or nothing with the
    posting, e.g. the prize records a batch of prize credits pays), at most 100 - (1 + 2 * legs) of them.

    Raises InvalidInput (the legs break a rule of `arena.domain.ledger`), Conflict ``idempotency_key_reused``,
    ``insufficient_balance``, ``posting_actions_refused`` (a condition of `with_actions` failed) or ``ledger_busy``
    (transient: retry with the same key)."""
    posting = Posting(
        posting_id=new_id(),
        idempotency_key=rules.check_idempotency_key(idempotency_key),
        kind=rules.check_kind(kind),
        memo=rules.check_memo(memo),
        at=_moment(at),
        # Amounts as they read back ("250.50" is stored and returned as "250.5"): a repeat returns the same.
        legs=tuple(Leg(leg.account, store.amount_of(leg.amount)) for leg in rules.validate_legs(legs)),
    )
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            # The last try met a concurrent transaction on the same items (or throttling): back off with jitter,
            # and look first whether a concurrent repeat of this key has posted meanwhile.
            time.sleep(_BACKOFF_SECONDS * (2**attempt) * random.random())
            existing = store.get_posting(posting.idempotency_key)
            if existing is not None:
                return _replay(existing, posting)
        result = store.write(posting, with_actions)
        if result.status is WriteStatus.POSTED:
            return posting
        if result.status in (WriteStatus.KEY_TAKEN, WriteStatus.INSUFFICIENT):
            # Checked on INSUFFICIENT too: a repeat of a posting whose debit has since been spent is a repeat.
            existing = store.get_posting(posting.idempotency_key)
            if existing is not None:
                return _replay(existing, posting)
            if result.status is WriteStatus.INSUFFICIENT:
                raise Conflict(
                    "The posting would take a user's points below zero.",
                    code="insufficient_balance",
                    details={
                        "accounts": list(result.accounts),
                        "balances": {a: format(store.balance(a), "f") for a in result.accounts},
                    },
                )
        elif result.status is WriteStatus.ACTIONS_REFUSED:
            raise Conflict(
                "A condition of the actions written with the posting failed; nothing was posted.",
                code="posting_actions_refused",
            )
        elif result.status is WriteStatus.INVALID:
            raise InvalidInput("A balance would leave the ledger's exact range.", code="amount_out_of_range")
        # RETRY: try the whole posting again.
    raise Conflict("The ledger is busy with the same accounts; retry with the same key.", code="ledger_busy")


def _replay(existing: Posting, attempted: Posting) -> Posting:
    if existing.kind != attempted.kind or not rules.same_legs(existing.legs, attempted.legs):
        raise Conflict(
            "This idempotency key was already used for a different posting.",
            code="idempotency_key_reused",
            details={"idempotency_key": existing.idempotency_key, "posting_id": existing.posting_id},
        )
    return existing


def get_posting(idempotency_key: str) -> Posting | None:
    return store.get_posting(rules.check_idempotency_key(idempotency_key))


def reverse(
    original_key: str, idempotency_key: str, kind: str = "reversal", memo: str | None = None, at: datetime | None = None
) -> Posting:
    """Undo the posting made under `original_key` with compensating legs (entries are never deleted).
    Idempotent under its own key; a user who has spent the points makes it Conflict ``insufficient_balance``."""
    original = get_posting(original_key)
    if original is None:
        raise NotFound(f"No posting under the key {original_key}.", code="posting_not_found")
    return post(rules.reversal(original.legs), idempotency_key, kind, memo or f"reverses {original.posting_id}", at)


def balance(account: str) -> Decimal:
    return store.balance(rules.check_account(account))


def _history_start(account: str, cursor: str | None) -> dict[str, dict[str, str]] | None:
    key = dynamo.start_key(dynamo.decode_cursor(cursor), store.HISTORY_KEY, {"account": account})
    if key is not None and not key["entry"]["S"].startswith(store.ENTRY_PREFIX):
        # In this account's partition, but not at an entry line (a posting): not where a page of lines resumes.
        raise BadRequest(dynamo.NOT_OURS, code="invalid_cursor")
    return key


def history(account: str, limit: int, cursor: str | None) -> HistoryPage:
    """One account's entry lines, newest first, `limit` a page; `next_cursor` resumes after the last one."""
    rules.check_account(account)
    entries, last = store.entries_page(account, limit, _history_start(account, cursor))
    return HistoryPage(account, entries, dynamo.encode_cursor({"k": last}) if last else None)


def trial_balance() -> dict[str, Decimal]:
    """Every account's balance (reconciliation and tests: a full scan). They sum to exactly zero; a scan is not a
    snapshot, so read it while no posting is in flight, or compare per posting."""
    return dict(store.all_balances())


def out_of_balance() -> Decimal:
    """The sum over all accounts: zero, always."""
    return exact.total(trial_balance().values())


def my_points(principal: Principal, limit: int, cursor: str | None) -> MyPoints:
    """GET /api/users/me/points: the caller's own account only. The balance is read after the page (two
    consistent reads), so it may already include a posting newer than the page's first entry."""
    account = rules.user_account(principal.user_id)
    page = history(account, limit, cursor)
    return MyPoints(
        account=account,
        balance=store.balance(account),
        entries=[
            PointsEntry(
                posting_id=e.posting_id,
                amount=e.amount,
                kind=e.kind,
                memo=e.memo,
                at=e.at,
                counter_accounts=list(e.counter_accounts),
            )
            for e in page.entries
        ],
        next_cursor=page.next_cursor,
    )
