"""Step Functions: start a workflow execution.

An execution's name is unique per state machine for 90 days, so starting one under a name that ran already is a
no-op here (ExecutionAlreadyExists): a repeated request, a retried schedule or two racing callers start one
execution only.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from arena.factories import cached


@cached
def client() -> Any:
    return boto3.client("stepfunctions")


def start(state_machine_arn: str, name: str, payload: dict[str, Any]) -> bool:
    """Start the execution `name` with `payload` as its input; False when it exists already (idempotent)."""
    try:
        client().start_execution(stateMachineArn=state_machine_arn, name=name[:80], input=json.dumps(payload))
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return False
        raise
