"""API Gateway's @connections management API: post a message to many WebSocket connections at once.

The endpoint is the WebSocket API stage's https URL (CONNECTIONS_ENDPOINT), the local stack's management port
locally. A post is one SigV4-signed POST /@connections/{id} over a keep-alive connection per posting thread
(`client()`), not boto3's client, whose request pipeline (events, parameter validation, serialisation, its own
signer) cost about 1 ms of CPU per post, most of a push's time at 1,000 subscribers (bench/RESULTS.md, fan-out).
Each posting thread takes one contiguous share of the connections and posts its share in turn. A 410 Gone marks
that one connection gone (the caller deletes exactly it); throttling, a 5xx or a broken connection is retried once
after a short jittered wait, as boto3's standard retry mode with two attempts did; any other failure of one post
is counted, logged and never stops the rest. Delivery is at most once per call beyond that retry (the client's
seq gap tells it to refetch over HTTP). Each call counts its posts in the metrics ConnectionPostSent,
ConnectionGone and ConnectionPostFailed (`_count_posts`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
from botocore.exceptions import ClientError

from arena.config import settings
from arena.factories import cached
from arena.observability import count, logger

SERVICE = "execute-api"
ATTEMPTS = 2  # one retry at most: a slow connection must not hold the whole fan-out
READ_SECONDS = 10.0  # per socket operation (connect, send, read): one stuck post holds one thread, not the push
# What boto3's standard retry mode retries (botocore/retries/standard.py), and its first backoff: up to 1 s after
# throttling, up to 50 ms after a transient error.
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException", "RequestThrottled"}
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
THROTTLE_BACKOFF, TRANSIENT_BACKOFF = 1.0, 0.05


class Signer:
    """AWS Signature Version 4 for a POST to execute-api, as botocore's SigV4Auth signs it (a unit test holds the
    two to the same Authorization header), with the day's signing key derived once instead of on every post."""

    def __init__(self, credentials: Any, region: str) -> None:
        self._credentials = credentials  # botocore credentials (refreshable in Lambda: read per post, frozen)
        self._region = region
        self._keys: dict[tuple[str, str], bytes] = {}

    def _key(self, secret: str, day: str) -> bytes:
        key = self._keys.get((secret, day))
        if key is None:
            key = f"AWS4{secret}".encode()
            for part in (day, self._region, SERVICE, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {(secret, day): key}  # only today's: a rotated secret or a new day replaces it
        return key

    def headers(self, host: str, path: str, body: bytes, now: float | None = None) -> dict[str, str]:
        """The headers that sign POST `path` (already percent-encoded) with `body` to `host`."""
        frozen = self._credentials.get_frozen_credentials()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        day = stamp[:8]
        signed = {"host": host, "x-amz-date": stamp}
        if frozen.token:
            signed["x-amz-security-token"] = frozen.token
        names = ";".join(signed)  # already in sorted order
        canonical = "\n".join(
            [
                "POST",
                quote(path, safe="/~"),  # SigV4 encodes the (encoded) path once more for every service but S3
                "",
                "".join(f"{name}:{value}\n" for name, value in signed.items()),
                names,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{day}/{self._region}/{SERVICE}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._key(frozen.secret_key, day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers = {
            "Host": host,
            "X-Amz-Date": stamp,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature}",
        }
        if frozen.token:
            headers["X-Amz-Security-Token"] = frozen.token
        return headers


def _host(endpoint: str) -> str:
    """The Host header (and signed host) of an endpoint: no port when it is the scheme's default."""
    parts = urlsplit(endpoint)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _error_code(named: str, data: bytes) -> str:
    """API Gateway names the error in x-amzn-ErrorType ("GoneException", sometimes with ":<url>"), or in the
    body's __type or code."""
    if named:
        return named.split(":", 1)[0]
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("__type") or body.get("code") or "").rsplit("#", 1)[-1]


class _Response:
    """What a post needs of an HTTP answer: its status, the error type header, the body, and whether the server
    closes the connection after it."""

    __slots__ = ("body", "error_type", "status", "will_close")

    def __init__(self, status: int, error_type: str, body: bytes, will_close: bool) -> None:
        self.status, self.error_type, self.body, self.will_close = status, error_type, body, will_close


MAX_LINE = 65_536  # one status or header line; longer is not an HTTP answer this client expects


def _line(reader: Any) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("header line")
    return line


def _read_response(reader: Any) -> _Response:
    """One HTTP/1.1 answer from a buffered socket reader: the status line, the headers (only those a post needs
    are kept), then a body by Content-Length, chunks, or up to the close. Raises on a closed or broken stream."""
    status_line = _line(reader)
    if not status_line:
        raise http.client.RemoteDisconnected("the server closed the connection without answering")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise http.client.BadStatusLine(status_line.decode("latin-1", "replace"))
    status = int(parts[1])
    will_close = parts[0] == b"HTTP/1.0"
    length: int | None = None
    chunked, error_type = False, ""
    while True:
        line = _line(reader)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            token = value.strip().lower()
            will_close = token == b"close" or (will_close and token != b"keep-alive")
        elif name == b"x-amzn-errortype":
            error_type = value.strip().decode("latin-1")
    if status in (204, 304) or 100 <= status < 200:
        body = b""
    elif chunked:
        pieces = []
        while True:
            size = int(_line(reader).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while _line(reader) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                break
            pieces.append(reader.read(size))
            reader.read(2)  # the chunk's CRLF
        body = b"".join(pieces)
    elif length is not None:
        body = reader.read(length)
        if len(body) < length:
            raise http.client.IncompleteRead(body, length - len(body))
    else:
        body, will_close = reader.read(), True  # delimited by the close
    return _Response(status, error_type, body, will_close)


class ConnectionsClient:
    """The one @connections operation the fan-out needs, `post_to_connection`, with boto3's name, arguments and
    errors (botocore's ClientError carrying the code and HTTP status), over one keep-alive connection per posting
    thread. A post writes its request in one send and reads back only what it needs of the answer (status, error
    type, body): http.client's request building and its email-parser header parsing were over half of this
    client's CPU per post at 1,000 posts a push (bench/RESULTS.md, fan-out)."""

    def __init__(self, endpoint: str, signer: Signer) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"CONNECTIONS_ENDPOINT must be an http(s) URL, not {endpoint!r}")
        self._https = parts.scheme == "https"
        self._address = (parts.hostname, parts.port or (443 if self._https else 80))
        self._base = parts.path.rstrip("/")
        self._host = _host(endpoint)
        self._signer = signer
        self._local = threading.local()
        self._tls = ssl.create_default_context() if self._https else None

    def _connection(self) -> tuple[socket.socket, Any]:
        """This thread's kept-alive socket and its buffered reader (opened on first use or after a drop)."""
        held = getattr(self._local, "connection", None)
        if held is None:
            sock = socket.create_connection(self._address, timeout=READ_SECONDS)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
            held = self._local.connection = (sock, sock.makefile("rb"))
        return held

    def _drop_connection(self) -> None:
        held = getattr(self._local, "connection", None)
        if held is not None:
            self._local.connection = None
            for part in (held[1], held[0]):
                with contextlib.suppress(OSError):
                    part.close()

    def _exchange(self, path: str, data: bytes, headers: dict[str, str]) -> _Response:
        sock, reader = self._connection()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(data)}\r\n\r\n".encode("latin-1")
        sock.sendall(request + data)
        return _read_response(reader)

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        path = f"{self._base}/@connections/{quote(ConnectionId, safe='')}"
        for attempt in range(1, ATTEMPTS + 1):
            headers = self._signer.headers(self._host, path, Data)
            try:
                response = self._exchange(path, Data, headers)
            except (OSError, http.client.HTTPException, ValueError):  # refused, reset, timed out, a stale socket
                self._drop_connection()
                if attempt == ATTEMPTS:
                    raise
                time.sleep(random.random() * TRANSIENT_BACKOFF)
                continue
            if response.will_close:
                self._drop_connection()
            if response.status < 300:
                return {"ResponseMetadata": {"HTTPStatusCode": response.status}}
            code = _error_code(response.error_type, response.body)
            throttled = response.status == 429 or code in THROTTLING_CODES
            transient = response.status in TRANSIENT_STATUSES or code in TRANSIENT_CODES
            if attempt < ATTEMPTS and (throttled or transient):
                time.sleep(random.random() * (THROTTLE_BACKOFF if throttled else TRANSIENT_BACKOFF))
                continue
            error = {"Code": code or str(response.status), "Message": response.body.decode("utf-8", "replace")}
            raise ClientError(
                {"Error": error, "ResponseMetadata": {"HTTPStatusCode": response.status}}, "PostToConnection"
            )
        raise AssertionError("unreachable: the last attempt returns or raises")


@cached
def client() -> ConnectionsClient:
    session = boto3.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials to sign @connections posts with")
    signer = Signer(credentials, session.region_name or "us-east-1")
    return ConnectionsClient(settings().connections_endpoint, signer)


@cached
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings().realtime_post_workers, thread_name_prefix="post")


@dataclass
class Outcome:
    sent: int = 0
    gone: list[str] = field(default_factory=list)
    failed: int = 0
    queued: int = 0  # handed to sender invocations (a sharded broadcast)

    def add(self, other: Outcome) -> None:
        self.sent += other.sent
        self.gone += other.gone
        self.failed += other.failed
        self.queued += other.queued


def _post_one(connection_id: str, data: bytes) -> str:
    try:
        client().post_to_connection(ConnectionId=connection_id, Data=data)
        return "sent"
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "GoneException" or status == 410:
            return "gone"
        logger.warning("post to a connection failed", extra={"connection_id": connection_id, "code": code})
        return "failed"
    except Exception:  # a timeout, a reset: that connection only
        logger.exception("post to a connection failed", extra={"connection_id": connection_id})
        return "failed"


def _post_in_order(connection_id: str, messages: list[bytes]) -> list[str]:
    results = []
    for data in messages:
        result = _post_one(connection_id, data)
        results.append(result)
        if result == "gone":
            break  # the rest would be gone too
    return results


def post_many(posts: Iterable[tuple[str, bytes]]) -> Outcome:
    """Post each (connection id, data) pair; connections in parallel, one connection's messages in the order
    given (so one call never delivers a topic's seq out of order). Returns what was sent, gone (410), failed."""
    by_connection: dict[str, list[bytes]] = {}
    for connection_id, data in posts:
        by_connection.setdefault(connection_id, []).append(data)
    outcome = Outcome()
    if not by_connection:
        return outcome
    client()  # built here, once: posting threads racing to build it would each make (and keep) their own
    items = list(by_connection.items())
    # One task per posting thread, not per connection: a share of the connections each, posted in turn.
    workers = min(settings().realtime_post_workers, len(items))
    shares = [items[i * len(items) // workers : (i + 1) * len(items) // workers] for i in range(workers)]

    def post_share(share: list[tuple[str, list[bytes]]]) -> list[tuple[str, list[str]]]:
        return [(connection_id, _post_in_order(connection_id, messages)) for connection_id, messages in share]

    for results in _pool().map(post_share, shares):
        for connection_id, statuses in results:
            outcome.sent += statuses.count("sent")
            outcome.failed += statuses.count("failed")
            if "gone" in statuses:
                outcome.gone.append(connection_id)
    _count_posts(outcome)
    return outcome


def _count_posts(outcome: Outcome) -> None:
    """Metrics (namespace Arena): ConnectionPostSent; ConnectionGone, connections that answered 410 (deleted by
    the caller: clients that left without $disconnect); ConnectionPostFailed, posts that failed otherwise
    (throttling, timeouts, a broken endpoint: lost messages, the one to alarm on)."""
    if outcome.sent:
        count("ConnectionPostSent", outcome.sent)
    if outcome.gone:
        count("ConnectionGone", len(outcome.gone))
    if outcome.failed:
        count("ConnectionPostFailed", outcome.failed)


def post(connection_ids: Iterable[str], data: bytes) -> Outcome:
    """The same message to every connection."""
    return post_many((c, data) for c in connection_ids)


@cached
def _sqs() -> Any:
    return boto3.client("sqs")


def enqueue_shards(shards: list[dict[str, Any]]) -> None:
    """Queue broadcast shards ({"message": str, "connections": [ids]}) for the sender function, ten per call;
    raises if SQS refuses any (the caller's invocation fails and its stream batch is retried)."""
    queue_url = settings().fanout_queue_url
    for start in range(0, len(shards), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(shard, separators=(",", ":"))}
            for i, shard in enumerate(shards[start : start + 10])
        ]
        answer = _sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"SQS refused {len(answer['Failed'])} fan-out shards: {answer['Failed'][0]}")


def queued_shards() -> int:
    """Shards still waiting or being posted (SQS's approximate counts; 0 without a fan-out queue)."""
    queue_url = settings().fanout_queue_url
    if not queue_url:
        return 0
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = _sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)
