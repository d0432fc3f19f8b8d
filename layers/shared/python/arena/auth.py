"""Who is calling: the principal from the JWT claims API Gateway's authorizer already verified.

Roles come from the token's `cognito:groups`. The exchange's trade feed may instead use a client-credentials
token carrying the `arena/trades.write` scope; it maps to the `service` role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from arena.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    ADMIN = "admin"
    EVENT_MANAGER = "event-manager"
    USER = "user"
    SERVICE = "service"


TRADE_FEED_SCOPE = "arena/trades.write"


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: frozenset[Role]
    kyc_level: int = 0
    account_type: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: Role) -> None:
        if not self.has_any(*roles):
            wanted = " or ".join(r.value for r in roles)
            raise Forbidden(f"This action needs the {wanted} role.", code="forbidden_role")

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


def parse_list_claim(value: Any) -> list[str]:
    """A list claim as API Gateway hands it over.

    The HTTP API JWT authorizer stringifies array claims as "[a b]" (bracketed, space-separated); direct
    invocations and tests may pass a real list or a JSON array string.
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return [str(v) for v in parsed]
        except ValueError:
            pass
        text = text[1:-1]
    return [part for part in text.replace(",", " ").split() if part]


def principal_from_event(event: dict[str, Any]) -> Principal:
    """Build the principal from an HTTP API (payload 2.0) event. Raises Unauthenticated without claims."""
    jwt = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}
    claims: dict[str, Any] = jwt.get("claims") or {}
    subject = claims.get("sub")
    if not subject:
        raise Unauthenticated("A valid bearer token is required.")
    roles = {Role(g) for g in parse_list_claim(claims.get("cognito:groups")) if g in Role._value2member_map_}
    scopes = parse_list_claim(jwt.get("scopes")) + parse_list_claim(claims.get("scope"))
    if TRADE_FEED_SCOPE in scopes:
        roles.add(Role.SERVICE)
    try:
        kyc_level = int(str(claims.get("custom:kyc_level", 0)))
    except ValueError:
        kyc_level = 0
    return Principal(
        user_id=str(subject),
        roles=frozenset(roles),
        kyc_level=kyc_level,
        account_type=claims.get("custom:account_type") or None,
        claims=claims,
    )
