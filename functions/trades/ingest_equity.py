"""POST /api/equity: the exchange's account feed for ROI events (starting equity, deposits, withdrawals).

At-least-once safe: a repeated update_id is reported as a duplicate and changes nothing.
"""

from arena.auth import Scope
from arena.http import allow, error_responses, lambda_handler_for, make_resolver
from arena.models.accounts import EquityBatchIn, EquityBatchResult
from arena.services import accounts as service

app = make_resolver()


@app.post(
    "/api/equity",
    summary="Post equity updates (ROI events)",
    tags=["trades"],
    responses=error_responses(400, 401, 403, 422),
)
@allow(Scope.EQUITY_WRITE)
def ingest_equity(batch: EquityBatchIn) -> EquityBatchResult:
    return service.apply_updates(batch.updates)


lambda_handler = lambda_handler_for(app)
