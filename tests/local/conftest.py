"""The runner's own tests use moto for DynamoDB: they test the runner, not the engine, and stay fast.
(The e2e tests run the real template on DynamoDB Local, the stack's default.)"""

import pytest


@pytest.fixture(autouse=True)
def _moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_DYNAMODB", "moto")
