"""Account flags: the exchange flags (or clears) an account it distrusts; a flagged account's claims are held for
review instead of paying out."""

from __future__ import annotations

from arena import clock
from arena.auth import Principal
from arena.domain import claims as rules
from arena.errors import InvalidInput
from arena.models.claims import AccountFlag, AccountFlagState
from arena.store import audit
from arena.store import claims as store
from arena.store.claims import FlagRecord


def set_flag(principal: Principal, user_id: str, flag: AccountFlag) -> AccountFlagState:
    """POST /api/users/{userId}/flag (the exchange): set or clear its flag on an account. Idempotent (the last
    call wins); every change is audited."""
    if not rules.valid_user_id(user_id):
        raise InvalidInput("Not a valid user id.", code="invalid_user_id")
    record = FlagRecord(
        user_id=user_id, flagged=flag.flagged, reason=flag.reason, set_by=principal.user_id, set_at=clock.now()
    )
    store.put_flag(record)
    # Audited where admins look (the audit table), not in the user's own claim history: a flag is the exchange's
    # risk signal, not something to show the account holder.
    action = "account.flag" if flag.flagged else "account.unflag"
    audit.append(f"ACCOUNT#{user_id}", principal.user_id, action, record.set_at, flag.reason)
    return AccountFlagState.model_validate(record, from_attributes=True)
