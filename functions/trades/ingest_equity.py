"""POST /api/equity: the exchange's account feed for ROI events (starting equity, deposits, withdrawals).

At-least-once safe: a repeated update_id is reported as a duplicate and changes nothing.
"""

from arena.http import error_responses, lambda_handler_for, make_resolver, principal
from arena.models.accounts import EquityBatchIn, EquityBatchResult
from arena.services import accounts as service

app = make_resolver()


@app.post(
    "/api/equity",
    summary="Post equity updates (ROI events)",
    tags=["trades"],
    responses=error_responses(400, 401, 403, 422),
)
def ingest_equity(batch: EquityBatchIn) -> EquityBatchResult:
    return service.apply_for(principal(app), batch)


lambda_handler = lambda_handler_for(app)
