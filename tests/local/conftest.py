"""The runner's own tests use moto for DynamoDB: they test the runner, not the engine, and stay fast.
(The e2e tests run the real template on DynamoDB Local, the stack's default.)"""

from collections.abc import Iterator

import pytest
from moto import mock_aws


@pytest.fixture(autouse=True)
def _moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_DYNAMODB", "moto")


@pytest.fixture
def aws(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Given fake credentials (the shared aws_env) and moto in-process, no endpoint override."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    with mock_aws():
        yield
