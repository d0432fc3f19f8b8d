"""A local token issuer standing in for the Cognito user pool.

It signs RS256 tokens shaped like Cognito's with a key pair made at start: people's ID tokens (sub,
cognito:groups, token_use) and the machine clients' client-credentials access tokens (client_id, scope, no
user), and verifies them the way API Gateway's JWT authorizer does: signature via the key id, expiry, issuer,
and "aud or client_id is one of the configured audiences". With a `directory` (the local stack's moto user pool,
local/cognito.py) the groups a person's token carries come from signing the user in there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEFAULT_ISSUER = "http://127.0.0.1:3000/local"
WEB_CLIENT_ID = "arena-local-web"
TRADE_FEED_CLIENT_ID = "arena-local-trade-feed"
EXCHANGE_ACCOUNTS_CLIENT_ID = "arena-local-exchange-accounts"
WALLET_CLIENT_ID = "arena-local-wallet"


@dataclass(frozen=True)
class MachineClient:
    """A client-credentials app client of template.yaml (`logical_id`) and the scopes it may be granted."""

    logical_id: str
    client_id: str
    scopes: tuple[str, ...]


MACHINE_CLIENTS = {
    client.client_id: client
    for client in (
        MachineClient("TradeFeedClient", TRADE_FEED_CLIENT_ID, ("arena/trades.write",)),
        MachineClient(
            "ExchangeAccountsClient", EXCHANGE_ACCOUNTS_CLIENT_ID, ("arena/equity.write", "arena/accounts.flag")
        ),
        MachineClient("WalletClient", WALLET_CLIENT_ID, ("arena/payouts.callback",)),
    )
}
DEFAULT_AUDIENCES = (WEB_CLIENT_ID, *MACHINE_CLIENTS)


class UserDirectory(Protocol):
    def sign_in(self, sub: str, groups: list[str] | None) -> list[str]:
        """The groups of `sub`'s token: `groups` when given (the directory made to agree), else the user's own."""
        ...

    def set_email(self, sub: str, email: str) -> None:
        """`sub`'s verified email address, as the pool holds it after sign-up (what the email dispatcher reads)."""
        ...


class TokenError(jwt.InvalidTokenError):
    """The token is not one the authorizer accepts (API Gateway answers 401)."""


class ScopeNotAllowed(ValueError):
    """A machine client asked for a scope it is not allowed (Cognito answers `invalid_scope`)."""


class JwtIssuer:
    """Issues and verifies tokens for one local user pool. Thread-safe: state is read-only after init."""

    def __init__(
        self,
        issuer: str = DEFAULT_ISSUER,
        audiences: Iterable[str] = DEFAULT_AUDIENCES,
        client_id: str = WEB_CLIENT_ID,
    ):
        self.issuer = issuer.rstrip("/")
        self.audiences = tuple(audiences)
        self.client_id = client_id
        self.key_id = uuid.uuid4().hex
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public_key = self._private_key.public_key()
        self.directory: UserDirectory | None = None

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set a verifier fetches, as Cognito serves it."""
        key = RSAAlgorithm.to_jwk(self._public_key, as_dict=True)
        key.update({"kid": self.key_id, "alg": "RS256", "use": "sig"})
        return {"keys": [key]}

    def issue(
        self,
        sub: str,
        groups: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        extra_claims: Mapping[str, Any] | None = None,
        ttl_seconds: int = 3600,
        email: str | None = None,
    ) -> str:
        """An RS256 ID token for `sub`, like Cognito's.

        With `email`, the user has that verified address: the directory records it (the pool's `email` and
        `email_verified` attributes, which the email dispatcher reads) and the token carries Cognito's `email` and
        `email_verified` claims.

        Like Cognito, "cognito:groups" is left out when the user is in no group. Without `groups`, a directory
        names them (none without one). `scopes` adds the
        space-separated "scope" claim. `extra_claims` override or add claims; a None value removes one
        (e.g. {"aud": None, "client_id": "arena-local-trade-feed", "token_use": "access"} makes an access token).
        """
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub,
            "iss": self.issuer,
            "aud": self.client_id,
            "token_use": "id",
            "auth_time": now,
            "iat": now,
            "exp": now + int(ttl_seconds),
            "jti": str(uuid.uuid4()),
            "cognito:username": sub,
        }
        if self.directory is not None:
            groups = self.directory.sign_in(sub, None if groups is None else list(groups))
            if email is not None:
                self.directory.set_email(sub, email)
        if email is not None:
            claims.update(email=email, email_verified=True)
        groups = list(groups or ())
        if groups:
            claims["cognito:groups"] = groups
        if scopes is not None:
            claims["scope"] = " ".join(scopes)
        for name, value in (extra_claims or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.key_id})

    def issue_client_credentials(
        self, client_id: str, scopes: Iterable[str] | None = None, ttl_seconds: int = 3600
    ) -> str:
        """A machine client's access token, as Cognito's client-credentials grant issues it: `sub` and `client_id`
        are the client, `scope` the asked scopes (all the client's when none are asked), and no user claims.

        Raises ScopeNotAllowed for an unknown client or a scope the client does not have."""
        client = MACHINE_CLIENTS.get(client_id)
        if client is None:
            raise ScopeNotAllowed(f"{client_id} is not a machine client (one of {', '.join(MACHINE_CLIENTS)})")
        granted = list(client.scopes if scopes is None else scopes)
        refused = [scope for scope in granted if scope not in client.scopes]
        if refused or not granted:
            raise ScopeNotAllowed(f"{client_id} may be granted only {', '.join(client.scopes)}")
        now = int(time.time())
        claims = {
            "sub": client_id,
            "client_id": client_id,
            "iss": self.issuer,
            "token_use": "access",
            "scope": " ".join(granted),
            "auth_time": now,
            "iat": now,
            "exp": now + int(ttl_seconds),
            "jti": str(uuid.uuid4()),
            "version": 2,
        }
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.key_id})

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, after the checks API Gateway's JWT authorizer makes; TokenError otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise TokenError(f"malformed token: {error}") from error
        if header.get("kid") != self.key_id:
            raise TokenError("unknown signing key (kid)")
        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except jwt.InvalidTokenError as error:
            raise TokenError(str(error)) from error
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(value in self.audiences for value in [*audiences, claims.get("client_id")] if value):
            raise TokenError("neither aud nor client_id is an allowed audience")
        return claims
