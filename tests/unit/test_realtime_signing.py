"""The @connections client's SigV4 signature is byte for byte the one botocore's SigV4Auth makes for the same POST."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.auth
import pytest
from arena.adapters.connections import Signer, _host
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MOMENT = datetime(2026, 11, 30, 16, 5, 9, tzinfo=UTC)


def _botocore(credentials: Credentials, url: str, body: bytes, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Host": _host(url)})
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: MOMENT.replace(tzinfo=None))
    SigV4Auth(credentials, "execute-api", "eu-west-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/@connections/Ab1-cD2=", "session-token"),
        ("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/@connections/plain", None),
        ("http://127.0.0.1:3002/@connections/L0c%2Fal%3D", None),
    ],
)
def test_the_signature_is_botocores(url: str, token: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given credentials (with and without a session token) and a POST of a frame to one connection
    When the lean signer and botocore's SigV4Auth sign it at the same moment
    Then both give the same X-Amz-Date, security token and Authorization header."""
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = b'{"type":"leaderboard","seq":7}'
    path = url.split(_host(url), 1)[1]

    ours: dict[str, Any] = Signer(credentials, "eu-west-1").headers(_host(url), path, body, now=MOMENT.timestamp())
    theirs = _botocore(credentials, url, body, monkeypatch)

    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"]
    assert ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token")


def test_the_host_leaves_out_a_default_port_only() -> None:
    """Given endpoints with and without their scheme's default port
    When their Host header is formed
    Then a default port is left out and any other kept, as botocore signs it."""
    assert _host("https://abc.execute-api.us-east-1.amazonaws.com/prod") == "abc.execute-api.us-east-1.amazonaws.com"
    assert _host("https://abc.example.com:443/prod") == "abc.example.com"
    assert _host("http://127.0.0.1:3002") == "127.0.0.1:3002"
