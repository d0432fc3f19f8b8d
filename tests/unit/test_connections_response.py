"""The @connections client's HTTP/1.1 answer reader (arena/adapters/connections.py): what a post needs of an answer
(status, error type, body, whether the connection closes), from the body framings a server may use."""

from __future__ import annotations

import http.client
import io

import pytest
from arena.adapters.connections import _read_response


def _answer(raw: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(raw))  # type: ignore[arg-type]


def test_a_content_length_answer_keeps_the_connection_and_names_the_error_type() -> None:
    """Given a 410 answer with API Gateway's error type header and a Content-Length body, then a second answer
    When the first is read
    Then its status, error type and body are those sent, the connection stays open, and the second answer is
    left unread for the next post."""
    body = b'{"message":null}'
    raw = (
        b"HTTP/1.1 410 Gone\r\nx-amzn-ErrorType: GoneException\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
        + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    )
    reader = _answer(raw)

    first = _read_response(reader)
    second = _read_response(reader)

    assert (first.status, first.error_type, first.body, first.will_close) == (410, "GoneException", body, False)
    assert (second.status, second.body, second.will_close) == (200, b"", False)


def test_chunked_close_delimited_and_http10_answers_are_read_whole() -> None:
    """Given a chunked answer, an answer without length that closes the connection, and an HTTP/1.0 answer
    When each is read
    Then the chunked body is joined, the close-delimited body runs to the end and marks the connection closing,
    and HTTP/1.0 closes unless it says keep-alive."""
    chunked = _read_response(
        _answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    )
    until_close = _read_response(_answer(b"HTTP/1.1 500 Internal\r\nConnection: close\r\n\r\noops"))
    old = _read_response(_answer(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
    old_kept = _read_response(_answer(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"))

    assert (chunked.body, chunked.will_close) == (b"abcde", False)
    assert (until_close.status, until_close.body, until_close.will_close) == (500, b"oops", True)
    assert old.will_close and not old_kept.will_close


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", http.client.RemoteDisconnected),
        (b"SSH-2.0-OpenSSH\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
    ],
)
def test_a_closed_or_broken_answer_raises(raw: bytes, error: type[Exception]) -> None:
    """Given a connection closed before answering, a non-HTTP answer, or a body cut short
    When the answer is read
    Then it raises (the client drops the connection and retries once)."""
    with pytest.raises(error):
        _read_response(_answer(raw))
