"""Who is calling (the principal from the JWT claims API Gateway's authorizer already verified) and who may call
a route (`Access`, declared where the route is registered and decided before its body is read).

People sign in through Cognito; their roles come from the token's `cognito:groups`. Machine clients (the
exchange's trade feed, its accounts system, the wallet) use client-credentials tokens, each holding only the scopes
of its own capabilities. The `service` group holds every machine capability, for the exchange's integration
accounts that sign in as users.
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


class Scope(StrEnum):
    """One machine capability each: an OAuth scope of the `arena` resource server in template.yaml."""

    TRADES_WRITE = "arena/trades.write"
    EQUITY_WRITE = "arena/equity.write"
    ACCOUNTS_FLAG = "arena/accounts.flag"
    PAYOUTS_CALLBACK = "arena/payouts.callback"


class Audience(StrEnum):
    """A grant wider than any role."""

    PEOPLE = "people"  # every signed-in person, in any group or none; never a machine client
    ANYONE = "anyone"  # no token needed: a route the template serves without the authorizer (the API's docs)


# The `service` group's members act for the exchange's systems, so they hold every machine capability.
SERVICE_GROUP_SCOPES = frozenset(Scope)


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: frozenset[Role]
    kyc_level: int = 0
    account_type: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False)
    scopes: frozenset[Scope] = frozenset()
    is_machine: bool = False

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def capabilities(self) -> frozenset[Scope]:
        """The machine capabilities this caller holds: its token's scopes, or all of them for the service group."""
        return self.scopes | (SERVICE_GROUP_SCOPES if Role.SERVICE in self.roles else frozenset())

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
    granted = parse_list_claim(jwt.get("scopes")) + parse_list_claim(claims.get("scope"))
    scopes = frozenset(Scope(s) for s in granted if s in Scope._value2member_map_)
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
        scopes=scopes,
        is_machine=is_machine_token(claims),
    )


def is_machine_token(claims: dict[str, Any]) -> bool:
    """A client-credentials access token: Cognito puts a `username` in every access token it issues to a person
    (and `cognito:username` in their ID tokens), never in one it issues to an app client."""
    return claims.get("token_use") == "access" and not claims.get("username") and not claims.get("cognito:username")


@dataclass(frozen=True)
class Access:
    """Who may call a route, decided from the token alone, before the request's body or query is looked at: any
    of `roles`, any of the machine capabilities `scopes`, or (with `people`) every signed-in person. Checks that
    depend on data (an event manager fenced to their events, a prize's owner) stay in the services."""

    roles: frozenset[Role] = frozenset()
    scopes: frozenset[Scope] = frozenset()
    people: bool = False
    anyone: bool = False

    @classmethod
    def of(cls, *grants: Role | Scope | Audience) -> Access:
        if not grants:
            raise ValueError("an access rule needs at least one role, scope or audience")
        return cls(
            roles=frozenset(g for g in grants if isinstance(g, Role)),
            scopes=frozenset(g for g in grants if isinstance(g, Scope)),
            people=Audience.PEOPLE in grants,
            anyone=Audience.ANYONE in grants,
        )

    def admits(self, who: Principal) -> bool:
        if self.anyone or (self.people and not who.is_machine):
            return True
        return bool(self.roles & who.roles) or bool(self.scopes & who.capabilities)

    def check(self, who: Principal) -> None:
        """Forbidden (403 `forbidden_role`) unless `who` may call; the refusal names what the route needs."""
        if not self.admits(who):
            raise Forbidden(f"This action needs {self.describe()}.", code="forbidden_role")

    def describe(self) -> str:
        wanted = [f"the {' or '.join(sorted(r.value for r in self.roles))} role"] if self.roles else []
        wanted += [f"the {' or '.join(sorted(s.value for s in self.scopes))} scope"] if self.scopes else []
        wanted += ["a signed-in person's token"] if self.people else []
        return " or ".join(wanted)
