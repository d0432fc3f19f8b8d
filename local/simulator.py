"""A trade simulator: plausible executed trades for a set of traders, as the exchange's feed would send them.

Used by the demo (`make run`) to keep the leaderboard moving, and by tests and benchmarks to make load.
Quantities and prices are exact decimals (strings on the wire).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

# Reference prices the random walk starts from.
MARKETS: dict[str, Decimal] = {
    "BTC-USDT": Decimal("96000"),
    "ETH-USDT": Decimal("3600"),
    "SOL-USDT": Decimal("210"),
}


def _wire(amount: Decimal) -> str:
    """A decimal as the feed sends it: plain notation (str() would write 1E+1 or 1E-7, which the API refuses)."""
    return format(amount, "f")


@dataclass
class TradeSimulator:
    traders: list[str]
    markets: dict[str, Decimal] = field(default_factory=lambda: dict(MARKETS))
    seed: int | None = None
    prefix: str = "SIM"
    notional: tuple[int, int] = (50, 25_000)  # the range of a trade's size in the quote currency

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._counter = 0
        # Some traders trade far more than others, as on a real exchange.
        self._activity = [self._random.paretovariate(1.2) for _ in self.traders]

    def _price(self, market: str) -> Decimal:
        walked = self.markets[market] * (Decimal(1) + Decimal(self._random.randint(-30, 30)) / Decimal(10_000))
        self.markets[market] = walked.quantize(Decimal("0.01"))
        return self.markets[market]

    def trade(self, executed_at: datetime, trader: str | None = None) -> dict[str, Any]:
        self._counter += 1
        user = trader or self._random.choices(self.traders, weights=self._activity)[0]
        market = self._random.choice(list(self.markets))
        price = self._price(market)
        notional = Decimal(self._random.randint(*self.notional))
        quantity = (notional / price).quantize(Decimal("0.0001")) or Decimal("0.0001")
        pnl = (Decimal(self._random.randint(-5_000, 5_000)) / Decimal(100)).quantize(Decimal("0.01"))
        return {
            "trade_id": f"{self.prefix}-{self._counter:09d}-{self._random.getrandbits(32):08x}",
            "user_id": user,
            "market": market,
            "side": self._random.choice(["buy", "sell"]),
            "quantity": _wire(quantity),
            "price": _wire(price),
            "executed_at": executed_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "realized_pnl": _wire(pnl),
            "fee": _wire((quantity * price * Decimal("0.0004")).quantize(Decimal("0.000001"))),
        }

    def trades(self, count: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """`count` trades executed at random moments in [start, end)."""
        span_ms = max(1, int((end - start).total_seconds() * 1000))
        return [self.trade(start + timedelta(milliseconds=self._random.randrange(span_ms))) for _ in range(count)]

    def history(self, count: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """`count` trades spread over [start, end) in time order, as a feed replaying that period sends them (the
        price walk follows the clock)."""
        span_ms = max(1, int((end - start).total_seconds() * 1000))
        moments = sorted(start + timedelta(milliseconds=self._random.randrange(span_ms)) for _ in range(count))
        return [self.trade(moment) for moment in moments]


def volume_of(trade: dict[str, Any]) -> Decimal:
    return Decimal(trade["quantity"]) * Decimal(trade["price"])
