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
  Retry/Catch in AWS.

So the same ASL file and the same handler code run here and in AWS.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Mapping
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
            return service.invoke(function_name, body, response_headers)

        LambdaBackend.invoke = invoke  # type: ignore[method-assign]

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        """Lambda's Invoke for a template function: its name, or an ARN ending in it."""
        stack = self._stack
        assert stack is not None
        logical_id = function_name.rsplit(":function:", 1)[-1].split(":", 1)[0]
        if logical_id not in stack.functions:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {"errorType": "ResourceNotFoundException", "errorMessage": f"no function {function_name}"}
            ).encode()
        event = json.loads(body) if isinstance(body, (str, bytes)) and body else (body or {})
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
