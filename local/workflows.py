"""Step Functions on the local stack: the template's state machines, run by moto's ASL interpreter.

`sam local` has no Step Functions, and Step Functions Local needs Docker for its Lambda tasks. moto ships
StackHandle's ASL interpreter (`{"stepfunctions": {"execute_state_machine": True}}`): it runs a definition state by
state (Map, Retry, Catch, ResultSelector...) and calls Lambda through moto's Lambda API. What moto cannot do is run
our Lambda code without Docker, so `WorkflowService`:

* creates every `AWS::Serverless::StateMachine` (and `AWS::StepFunctions::StateMachine`) of the template in moto,
  from its DefinitionUri/Definition with its DefinitionSubstitutions resolved, before the functions read their
  environment (a Ref to a state machine is its ARN, as in AWS);
* routes moto's Lambda `Invoke` to the template's handlers in this process: a handler's exception becomes a
  function error whose `errorType` is the exception's class name, exactly what Step Functions matches in
  Retry/Catch in AWS. The same route serves every Lambda `Invoke` a function makes (`adapters/functions.py`); with
  InvocationType=Event it answers 202 at once and runs the function on a thread of its own, retried and then sent
  to its EventInvokeConfig's on-failure queue as Lambda does (`invoke_async`).

So the same ASL file and the same handler code run here and in AWS.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local import template as tpl

if TYPE_CHECKING:
    from local.protocols import StackHandle

logger = logging.getLogger("local.workflows")

STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")


def state_machine_definitions(template: Mapping[str, Any], base_dir: Path, context: tpl.LocalContext) -> dict[str, str]:
    """{logical id: the definition as JSON text, substitutions resolved} for every state machine of the template."""
    definitions: dict[str, str] = {}
    for resource_type in STATE_MACHINE_TYPES:
        for logical_id, props in tpl.resources_of_type(template, resource_type).items():
            if "DefinitionUri" in props:
                text = (base_dir / str(props["DefinitionUri"])).read_text()
            elif "Definition" in props:
                text = json.dumps(tpl.resolve(props["Definition"], context))
            else:
                text = str(tpl.resolve(props.get("DefinitionString", "{}"), context))
            substitutions = tpl.resolve(props.get("DefinitionSubstitutions") or {}, context)
            for name, value in substitutions.items():
                text = text.replace("${" + name + "}", str(value))
            definitions[logical_id] = text
    return definitions


class WorkflowService:
    """Runs the template's state machines (see the module docstring). `prepare` runs before the functions read their
    environment; `start`/`stop` are the Service protocol."""

    name = "workflows"
    event_types = ()

    def __init__(self) -> None:
        self.state_machines: dict[str, str] = {}  # logical id -> ARN
        self._stack: StackHandle | None = None
        self._saved_config: Any = None
        self._saved_invoke: Any = None
        self._async_threads: list[threading.Thread] = []
        self._async_lock = threading.Lock()
        # Between the tries of a failed asynchronous invocation (Lambda waits a minute, then two).
        self.retry_delay_seconds = 1.0

    def prepare(self, stack: StackHandle) -> None:
        from moto.core.config import default_user_config

        self._stack = stack
        sfn = default_user_config.setdefault("stepfunctions", {})
        self._saved_config = sfn.get("execute_state_machine", False)
        sfn["execute_state_machine"] = True  # read when each request picks its backend: set before creating
        self._route_lambda_invokes()
        client = stack.client("stepfunctions")
        role = f"arn:aws:iam::{stack.account_id}:role/local-state-machine"
        for logical_id, definition in state_machine_definitions(stack.template, stack.base_dir, stack.context).items():
            arn = client.create_state_machine(name=logical_id, definition=definition, roleArn=role)["stateMachineArn"]
            self.state_machines[logical_id] = arn
            stack.context.refs[logical_id] = arn
            stack.context.attributes[(logical_id, "Arn")] = arn
            stack.context.attributes[(logical_id, "Name")] = logical_id
        logger.info("workflows: %d state machine(s)", len(self.state_machines))

    def start(self, stack: StackHandle) -> None:
        self._stack = stack

    def stop(self) -> None:
        from moto.awslambda.models import LambdaBackend
        from moto.core.config import default_user_config

        if self._saved_invoke is not None:
            LambdaBackend.invoke = self._saved_invoke
            self._saved_invoke = None
        default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = bool(self._saved_config)

    def _route_lambda_invokes(self) -> None:
        from moto.awslambda.models import LambdaBackend

        service = self
        self._saved_invoke = LambdaBackend.invoke

        def invoke(
            backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            invocation_type = (headers or {}).get("X-Amz-Invocation-Type") or "RequestResponse"
            return service.invoke(function_name, body, response_headers, invocation_type=invocation_type)

        LambdaBackend.invoke = invoke  # type: ignore[method-assign]

    def invoke(
        self,
        function_name: str,
        body: Any,
        response_headers: dict[str, str],
        invocation_type: str = "RequestResponse",
    ) -> bytes:
        """Lambda's Invoke for a template function: its name, or an ARN ending in it. InvocationType=Event queues
        the invocation (`invoke_async`) and answers at once, as Lambda does (202, empty body)."""
        stack = self._stack
        assert stack is not None
        logical_id = function_name.rsplit(":function:", 1)[-1].split(":", 1)[0]
        if logical_id not in stack.functions:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {"errorType": "ResourceNotFoundException", "errorMessage": f"no function {function_name}"}
            ).encode()
        event = json.loads(body) if isinstance(body, (str, bytes)) and body else (body or {})
        if invocation_type == "Event":
            self.invoke_async(logical_id, event)
            return b""
        try:
            result = stack.invoke(logical_id, event)
        except Exception as error:
            logger.warning("%s failed: %s: %s", logical_id, type(error).__name__, error)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_exception(error)[-3:],
                }
            ).encode()
        return json.dumps(result, default=str).encode()

    # -- asynchronous invocations (InvocationType=Event)

    def invoke_async(self, logical_id: str, event: Any) -> threading.Thread:
        """Run the function later, on its own thread, as Lambda's asynchronous invocation does: tried again on error
        up to its EventInvokeConfig's MaximumRetryAttempts (2 when unset), `retry_delay_seconds` apart (a minute
        and more in AWS), then the event goes to its OnFailure destination (an SQS queue of the template) with
        the record Lambda writes there."""
        thread = threading.Thread(
            target=self._run_async, args=(logical_id, event), name=f"async-{logical_id}", daemon=True
        )
        with self._async_lock:
            self._async_threads = [t for t in self._async_threads if t.is_alive()]
            self._async_threads.append(thread)
        thread.start()
        return thread

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait for the asynchronous invocations under way; False when some still run after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._async_lock:
            threads = list(self._async_threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def _invoke_config(self, logical_id: str) -> dict[str, Any]:
        stack = self._stack
        assert stack is not None
        resource = (stack.template.get("Resources") or {}).get(logical_id) or {}
        config = (resource.get("Properties") or {}).get("EventInvokeConfig") or {}
        return dict(tpl.resolve(config, stack.context)) if config else {}

    def _run_async(self, logical_id: str, event: Any) -> None:
        stack = self._stack
        assert stack is not None
        config = self._invoke_config(logical_id)
        attempts = 1 + int(config.get("MaximumRetryAttempts", 2))
        error: Exception | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                time.sleep(self.retry_delay_seconds)
            try:
                stack.invoke(logical_id, event)
                return
            except Exception as failure:
                error = failure
                logger.warning("%s (async, attempt %d/%d) failed: %s", logical_id, attempt, attempts, failure)
        destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        queue = next((q for q in stack.queues.values() if q["arn"] == destination), None)
        if queue is None:
            logger.error("%s: asynchronous invocation failed %d times; no on-failure queue", logical_id, attempts)
            return
        assert error is not None
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{stack.region}:{stack.account_id}:function:{logical_id}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": type(error).__name__, "errorMessage": str(error)},
        }
        stack.client("sqs").send_message(QueueUrl=queue["url"], MessageBody=json.dumps(record, default=str))
