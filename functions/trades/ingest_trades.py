"""POST /api/trades: the exchange's trade feed, up to 500 trades a call.

At-least-once safe: a repeated trade_id is reported as a duplicate and changes nothing.
"""

from arena.auth import Scope
from arena.http import allow, error_responses, lambda_handler_for, make_resolver
from arena.models.trades import TradeBatchIn, TradeBatchResult
from arena.services import ingest as service

app = make_resolver()


@app.post("/api/trades", summary="Post executed trades", tags=["trades"], responses=error_responses(400, 401, 403, 422))
@allow(Scope.TRADES_WRITE)
def ingest_trades(batch: TradeBatchIn) -> TradeBatchResult:
    return service.ingest(batch.trades)


lambda_handler = lambda_handler_for(app)
