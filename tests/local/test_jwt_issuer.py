"""local.jwt_issuer: Cognito-shaped tokens, checked the way API Gateway's JWT authorizer checks them."""

from __future__ import annotations

import jwt
import pytest

from local.jwt_issuer import TRADE_FEED_CLIENT_ID, WEB_CLIENT_ID, JwtIssuer, TokenError

ISSUER_URL = "http://127.0.0.1:3999/local"


@pytest.fixture(scope="module")
def issuer() -> JwtIssuer:
    return JwtIssuer(ISSUER_URL)


def test_issued_token_verifies_and_carries_cognito_claims(issuer: JwtIssuer) -> None:
    """Given a token for an admin
    When verified
    Then the claims are Cognito's ID token claims"""
    token = issuer.issue("user-1", groups=["admin", "user"], extra_claims={"email": "a@example.com"})

    # When
    claims = issuer.verify(token)

    # Then
    assert claims["sub"] == "user-1"
    assert claims["cognito:groups"] == ["admin", "user"]
    assert (claims["iss"], claims["aud"], claims["token_use"]) == (ISSUER_URL, WEB_CLIENT_ID, "id")
    assert claims["email"] == "a@example.com"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


def test_no_groups_means_no_groups_claim(issuer: JwtIssuer) -> None:
    """Given a token issued without groups
    When it is verified
    Then it has no cognito:groups claim."""
    assert "cognito:groups" not in issuer.verify(issuer.issue("user-2"))


def test_access_token_with_client_id_and_scope_is_accepted(issuer: JwtIssuer) -> None:
    """Given a client-credentials style token: no aud, a client_id and a scope
    When it is verified
    Then it verifies on its client_id."""
    token = issuer.issue(
        "feed",
        scopes=["arena/trades.write"],
        extra_claims={"aud": None, "client_id": TRADE_FEED_CLIENT_ID, "token_use": "access"},
    )

    # Then
    claims = issuer.verify(token)
    assert "aud" not in claims
    assert (claims["client_id"], claims["scope"]) == (TRADE_FEED_CLIENT_ID, "arena/trades.write")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda i: i.issue("u", ttl_seconds=-10), id="expired"),
        pytest.param(lambda i: i.issue("u", extra_claims={"iss": "https://elsewhere"}), id="wrong-issuer"),
        pytest.param(lambda i: i.issue("u", extra_claims={"aud": "someone-else"}), id="wrong-audience"),
        pytest.param(lambda i: JwtIssuer(ISSUER_URL).issue("u"), id="other-key"),
        pytest.param(lambda i: i.issue("u")[:-4] + "AAAA", id="tampered"),
        pytest.param(lambda i: "not-a-jwt", id="garbage"),
        pytest.param(lambda i: jwt.encode({"sub": "u", "iss": ISSUER_URL}, "s" * 32, algorithm="HS256"), id="hs256"),
    ],
)
def test_bad_tokens_are_rejected(issuer: JwtIssuer, make_token) -> None:
    """Given a bad token
    When it is verified
    Then TokenError is raised."""
    with pytest.raises(TokenError):
        issuer.verify(make_token(issuer))


def test_jwks_verifies_issued_tokens(issuer: JwtIssuer) -> None:
    """Given the published key set
    When a third party verifies a token with it
    Then it is valid."""
    token = issuer.issue("user-3")
    key = jwt.PyJWKSet.from_dict(issuer.jwks())[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=WEB_CLIENT_ID, issuer=ISSUER_URL)
    assert claims["sub"] == "user-3"
    assert issuer.jwks_url == ISSUER_URL + "/.well-known/jwks.json"
