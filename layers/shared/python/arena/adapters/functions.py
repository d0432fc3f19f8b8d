"""Lambda: hand work to another function asynchronously (InvocationType=Event).

Lambda queues the event and answers 202 at once; the function runs later, is retried by Lambda on error (the
function's EventInvokeConfig: retries, then its on-failure destination), so the target must be idempotent.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from arena.factories import cached


@cached
def client() -> Any:
    return boto3.client("lambda")


def invoke_async(function: str, payload: dict[str, Any]) -> None:
    """Queue one invocation of `function` (name, ARN or alias ARN); raises when Lambda does not accept it."""
    answer = client().invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode())
    if int(answer.get("StatusCode", 0)) != 202:
        raise RuntimeError(f"Lambda did not queue {function}: status {answer.get('StatusCode')}")
