"""LocalStack's lifecycle: what it does to the process (environment, modules) and undoes on stop.

Kept apart from test_stack.py so no other stack is running: moto's state is process-wide.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from local.stack import LocalStack


def test_stack_sets_then_restores_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a process environment with a real-looking profile and no endpoint
    When a stack runs
    Then AWS points at moto with fake credentials and no profile, and on_ready saw it up"""
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
        "      KeySchema: [{AttributeName: k, KeyType: HASH}]\n"
        "      AttributeDefinitions: [{AttributeName: k, AttributeType: S}]\n"
        "      BillingMode: PAY_PER_REQUEST\n"
    )
    ready: list[str] = []

    # When
    with LocalStack(port=0, template_path=path, on_ready=lambda s: ready.append(s.base_url)) as local:
        # Then
        assert os.environ["AWS_ENDPOINT_URL"] == local.moto_endpoint
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert "AWS_PROFILE" not in os.environ
        assert os.environ["MOTO_PORT"] == local.moto_endpoint.rsplit(":", 1)[1]
        assert ready == [local.base_url]
        assert local.client("dynamodb").describe_table(TableName="T")["Table"]["TableStatus"] == "ACTIVE"

    # And after it stops, the environment is as it was
    assert os.environ["AWS_PROFILE"] == "production"
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert not any(name.startswith("_local_fn_") for name in sys.modules)


def test_concurrent_invocations_get_execution_environments_of_their_own(tmp_path: Path) -> None:
    """Given a handler whose module keeps per-environment state (as a Powertools resolver does)
    When two invocations run at once, then a third after them
    Then the two ran in different copies of the module (Lambda runs one invocation per environment), the third
    reused a warm one, and unloading forgets them all."""
    import threading

    from local.runtime import FunctionRegistry
    from local.template import FunctionSpec

    (tmp_path / "fns").mkdir()
    (tmp_path / "fns" / "slow.py").write_text(
        "import threading, time\n"
        "STATE = object()\n"
        "def handler(event, context):\n"
        "    event['barrier'].wait(5)\n"
        "    return id(STATE)\n"
    )
    spec = FunctionSpec("SlowFunction", "fns/", "slow.handler", {}, [], timeout=10, memory=128)
    registry = FunctionRegistry([spec], tmp_path, "us-east-1", "123456789012")
    barrier = threading.Barrier(2)
    seen: list[int] = []
    threads = [
        threading.Thread(target=lambda: seen.append(registry.invoke("SlowFunction", {"barrier": barrier})))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(set(seen)) == 2
    assert registry.invoke("SlowFunction", {"barrier": threading.Barrier(1)}) in seen
    registry.unload()
    assert not any(name.startswith("_local_fn_") and "slow" in name for name in sys.modules)
