"""Checking a bearer token ourselves, as the HTTP API's JWT authorizer does (WebSocket $connect has no JWT
authorizer): RS256 signature by a key of the issuer's JWKS (fetched once and cached, refetched for an unknown
key id), expiry, issuer, and "aud or client_id is one of the allowed audiences" (Cognito access tokens carry
client_id, ID tokens aud).
"""

from __future__ import annotations

from typing import Any

import jwt

from arena.config import settings
from arena.errors import Unauthenticated
from arena.factories import cached


@cached
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def jwks_url(issuer: str) -> str:
    return f"{issuer.rstrip('/')}/.well-known/jwks.json"


def verify(token: str) -> dict[str, Any]:
    """The token's claims; Unauthenticated when it is missing, malformed, expired, foreign or not for us."""
    if not token:
        raise Unauthenticated("A token is required: connect with ?token=<JWT>.", code="token_missing")
    config = settings()
    issuer = config.jwt_issuer.rstrip("/")
    audiences = {a.strip() for a in config.jwt_audiences.split(",") if a.strip()}
    try:
        key = _jwks_client(jwks_url(issuer)).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=issuer,
            options={"verify_aud": False, "require": ["exp", "iss", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"The token was refused: {error}", code="invalid_token") from None
    audience = claims.get("aud")
    candidates = [*(audience if isinstance(audience, list) else [audience]), claims.get("client_id")]
    if not any(value in audiences for value in candidates if value):
        raise Unauthenticated("The token was issued for another client.", code="invalid_token")
    return claims
