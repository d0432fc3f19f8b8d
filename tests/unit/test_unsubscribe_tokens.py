"""Unsubscribe tokens (arena/domain/unsubscribe.py): the HMAC round trip and every way a token is refused."""

from __future__ import annotations

import pytest
from arena.domain.notifications import NotificationType
from arena.domain.unsubscribe import read_unsubscribe_token, unsubscribe_token
from arena.errors import BadRequest

SECRET = "a-signing-secret-of-a-stage"


@pytest.mark.parametrize("kind", list(NotificationType))
@pytest.mark.parametrize("user_id", ["0f3c9a4e-7d1b-4c55-9a32-1f2e3d4c5b6a", "ann@example.com", "ünïcødé user"])
def test_a_token_reads_back_as_its_user_and_type(user_id: str, kind: NotificationType) -> None:
    """Given a token made for a user and a notification type
    When it is read with the same secret
    Then it gives back that user and that type, and it is URL-safe text."""
    token = unsubscribe_token(user_id, kind, SECRET)
    assert read_unsubscribe_token(token, SECRET) == (user_id, kind)
    assert all(c.isalnum() or c in "-_." for c in token)


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


def test_a_tampered_token_is_refused() -> None:
    """Given a valid token
    When any one character of it is changed, its type is swapped for another or its user part for another user's
    Then reading it is refused with 400 invalid_token."""
    token = unsubscribe_token("user-1", NotificationType.PRIZE_WON, SECRET)
    user_part, kind, signature = token.split(".")
    other_user = unsubscribe_token("user-2", NotificationType.PRIZE_WON, SECRET).split(".")[0]
    forgeries = [_flip(token, i) for i in range(len(token)) if token[i] != "."]
    forgeries += [f"{user_part}.{NotificationType.NEW_EVENT.value}.{signature}", f"{other_user}.{kind}.{signature}"]
    for forged in forgeries:
        if forged == token:
            continue
        with pytest.raises(BadRequest) as refused:
            read_unsubscribe_token(forged, SECRET)
        assert refused.value.code == "invalid_token", forged


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c.d", "x" * 500, "dXNlcg.prize_won.!!!", "dXNlcg.not_a_type.AAAA", "..", "é.é.é"]
)
def test_malformed_tokens_are_refused(token: str) -> None:
    """Given text that is not a token (empty, too long, wrong number of parts, bad base64, unknown type)
    When it is read
    Then it is refused with 400 invalid_token, never another error."""
    with pytest.raises(BadRequest) as refused:
        read_unsubscribe_token(token, SECRET)
    assert refused.value.code == "invalid_token"


def test_a_token_of_another_secret_is_refused_and_no_secret_refuses_to_sign() -> None:
    """Given a token signed with one stage's secret
    When another secret reads it, or a token is made without any secret
    Then the first is refused as invalid and the second fails loudly (a configuration error, not a user's)."""
    token = unsubscribe_token("user-1", NotificationType.ANNOUNCEMENT, SECRET)
    with pytest.raises(BadRequest):
        read_unsubscribe_token(token, "another-secret")
    with pytest.raises(RuntimeError):
        unsubscribe_token("user-1", NotificationType.ANNOUNCEMENT, "")
