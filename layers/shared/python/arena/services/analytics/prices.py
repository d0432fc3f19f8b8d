"""The per-currency price table prize costs are valued with (admins set it; every change audited)."""

from __future__ import annotations

from decimal import Decimal

from arena import clock
from arena.auth import Principal, Role
from arena.errors import Conflict
from arena.models.analytics import PricedCurrency, PriceTable, PriceTableUpdate
from arena.store import analytics_reports as store
from arena.store import audit

AUDIT_SUBJECT = "ANALYTICS#PRICES"


def current() -> dict[str, Decimal]:
    """Currency name -> price of one unit, as the metrics use it."""
    return store.get_prices().prices


def _view(record: store.PriceRecord) -> PriceTable:
    return PriceTable(
        prices=[PricedCurrency(currency=c, price=p) for c, p in sorted(record.prices.items())],
        version=record.version,
        updated_by=record.updated_by,
        updated_at=record.updated_at,
    )


def get_prices(principal: Principal) -> PriceTable:
    principal.require(Role.ADMIN)
    return _view(store.get_prices())


def put_prices(principal: Principal, request: PriceTableUpdate) -> PriceTable:
    principal.require(Role.ADMIN)
    now = clock.now()
    prices = {p.currency: p.price for p in request.prices}
    written = store.put_prices(prices, request.version, principal.user_id, now)
    if written is None:
        raise Conflict(
            "The price table was changed by someone else; read it again and retry with its new version.",
            code="version_conflict",
        )
    audit.append(
        AUDIT_SUBJECT,
        principal.user_id,
        "analytics.prices",
        now,
        request.reason,
        version=written.version,
        prices={c: str(p) for c, p in sorted(prices.items())},
    )
    return _view(written)
