"""local/moto_dispatch.py: moto's server finds a host's service once; each request is still answered by its own
service."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import backends
from moto.server import ThreadedMotoServer

from local import moto_dispatch


@pytest.fixture
def moto_server(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Given moto's threaded server on a free port, with the dispatcher patch installed."""
    moto_dispatch.install()
    moto_dispatch.install()  # idempotent
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_each_host_is_looked_up_once_and_answered_by_its_service(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the server and a count of moto's walks over its service directories
    When SQS is called three times and Cognito twice (two hosts)
    Then SQS lists the queue it made and Cognito the pool it made (each host reached its service), and moto walked
    its directories at most once per host, not once per request."""
    walks = []
    listing = backends.list_of_moto_modules

    def counted() -> object:
        walks.append(1)
        return listing()

    monkeypatch.setattr(backends, "list_of_moto_modules", counted)
    sqs, cognito = boto3.client("sqs"), boto3.client("cognito-idp")
    url = sqs.create_queue(QueueName="dispatch-check")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert sqs.list_queues(QueueNamePrefix="dispatch-check")["QueueUrls"] == [url]
    pool = cognito.create_user_pool(PoolName="dispatch-check")["UserPool"]["Id"]
    assert pool in [p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"]]
    assert len(walks) <= 2
