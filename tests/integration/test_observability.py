"""Every function of template.yaml is an observed entry point (arena/observability.py): its invocation is traced
and the metrics it adds are flushed; and its log lines carry the correlation id of its trigger.

The handler modules are loaded from functions/<area>/ as Lambda loads them (the layer on the path), each invoked
with its sample payload from events/ in moto.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from arena import observability
from arena.config import settings

from local.template import FunctionSpec, LocalContext, functions, load_template
from local.websocket_routes import websocket_apis
from tests.conftest import api_event, sample_event

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
SPECS = functions(TEMPLATE)
# WebSocket route key -> the function its integration runs (routes are ApiGatewayV2 resources, not function events).
WEBSOCKET_ROUTES = {
    route.route_key: route.function_id
    for api in websocket_apis(TEMPLATE, LocalContext(template=TEMPLATE))
    for route in api.routes.values()
}
PROBE = "ObservabilityProbe"


def load_entry_point(spec: FunctionSpec) -> Any:
    """The function's handler, from a module loaded under a name of its own, as the runtime would import it."""
    module_name, attribute = spec.handler.rsplit(".", 1)
    path = ROOT / spec.code_uri / f"{module_name}.py"
    name = f"arena_test_observed.{spec.logical_id}"
    loader = importlib.util.spec_from_file_location(name, path)
    assert loader is not None and loader.loader is not None, path
    module: ModuleType = importlib.util.module_from_spec(loader)
    sys.modules[name] = module
    loader.loader.exec_module(module)
    return getattr(module, attribute)


def sample_for(spec: FunctionSpec) -> dict[str, Any]:
    """Its payload from events/; a function without one (the fan-out sender) gets a one-message batch of its
    queue with a shard to no connection."""
    area = Path(spec.code_uri).name
    name = f"{area}/{spec.handler.rsplit('.', 1)[0]}.json"
    if (ROOT / "events" / name).exists():
        return sample_event(name)
    # A function serving several routes: the sample of any one of them.
    routes = {
        f"{props.get('Method', '').upper()} {props.get('Path')}" for kind, props in spec.events if kind == "HttpApi"
    }
    websocket_routes = {key for key, function_id in WEBSOCKET_ROUTES.items() if function_id == spec.logical_id}
    for path in sorted((ROOT / "events" / area).glob("*.json")):
        event = sample_event(f"{area}/{path.name}")
        if event.get("routeKey") in routes or (event.get("requestContext") or {}).get("routeKey") in websocket_routes:
            return event
    assert [kind for kind, _ in spec.events] == ["SQS"], f"{spec.logical_id} has no sample payload in events/"
    shard = {"message": '{"type":"probe"}', "connections": []}
    record = {"messageId": "probe-1", "receiptHandle": "probe", "body": json.dumps(shard), "attributes": {}}
    return {"Records": [{**record, "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:FanoutQueue"}]}


class Subsegment:
    def __init__(self, name: str) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[key] = value


class RecordingProvider:
    """Stands in for the X-Ray recorder behind the shared Tracer. Opening a subsegment adds a probe metric, so the
    probe is flushed only if metrics are flushed around the traced handler."""

    def __init__(self) -> None:
        self.subsegments: list[Subsegment] = []

    @contextmanager
    def in_subsegment(self, name: str | None = None, **_: Any) -> Iterator[Subsegment]:
        subsegment = Subsegment(str(name))
        self.subsegments.append(subsegment)
        observability.count(PROBE)
        yield subsegment


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> RecordingProvider:
    provider = RecordingProvider()
    monkeypatch.setattr(observability.tracer, "provider", provider)
    return provider


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    blobs = []
    for line in stdout.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict) and "_aws" in parsed:
            blobs.append(parsed)
    return blobs


@pytest.mark.parametrize("spec", SPECS, ids=[s.logical_id for s in SPECS])
def test_every_function_is_traced_and_flushes_its_metrics(
    spec: FunctionSpec,
    tables: dict[str, str],
    frozen_clock: Any,
    lambda_context: Any,
    recorder: RecordingProvider,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Given a function of template.yaml, its handler loaded from functions/, metrics enabled as in Lambda
    When it is invoked with its sample payload (whether the handler answers or raises)
    Then its invocation was a traced subsegment annotated ColdStart and Service, and the metrics added during it
    were flushed to stdout as one embedded-metric-format blob in the Arena namespace."""
    assert len(SPECS) >= 44
    handler = load_entry_point(spec)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    event = sample_for(spec)
    observability.metrics.clear_metrics()
    capsys.readouterr()

    # A workflow task or a one-shot schedule raises for the sample's missing event: it is observed all the same.
    with contextlib.suppress(Exception):
        handler(event, lambda_context)

    assert [s.name for s in recorder.subsegments] == ["## lambda_handler"], spec.logical_id
    assert {"ColdStart", "Service"} <= set(recorder.subsegments[0].annotations)
    assert recorder.subsegments[0].annotations["Service"] == "arena"
    flushed = [b for b in emf_blobs(capsys.readouterr().out) if PROBE in b]
    assert len(flushed) == 1, spec.logical_id
    (directive,) = flushed[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Arena"
    assert flushed[0]["service"] == "arena"
    # the stage a dimension too: the alarms select their stage's metrics when stages share an account
    assert ["service", "stage"] in [sorted(dimensions) for dimensions in directive["Dimensions"]]
    assert flushed[0]["stage"] == settings().stage
    assert observability.metrics.metric_set == {}


def test_metrics_stay_off_stdout_when_disabled(
    tables: dict[str, str], lambda_context: Any, recorder: RecordingProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given POWERTOOLS_METRICS_DISABLED=true (the tests' and the local stack's setting)
    When a function that adds a metric is invoked
    Then nothing is printed and nothing is kept for a later invocation to print."""
    spec = next(s for s in SPECS if s.handler.startswith("get_event."))
    handler = load_entry_point(spec)
    capsys.readouterr()

    handler(sample_for(spec), lambda_context)

    assert emf_blobs(capsys.readouterr().out) == []
    assert observability.metrics.metric_set == {}


# ---------------------------------------------------------------------------------------- correlation ids


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the shared Logger writes, one JSON object a line (INFO and up)."""
    handler = observability.logger.registered_handler
    assert hasattr(handler, "setStream")
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    previous_level = observability.logger.log_level
    observability.logger.setLevel("INFO")
    yield buffer
    handler.setStream(previous_stream)
    observability.logger.setLevel(previous_level)


def records(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    buffer.seek(0)
    buffer.truncate()
    return lines


def test_an_http_handlers_log_lines_carry_the_api_gateway_request_id(
    tables: dict[str, str],
    lambda_context: Any,
    load_handler: Any,
    log_lines: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given GET /api/events/{id} failing on a bug (the service raises)
    When two requests with different API Gateway request ids reach it
    Then each 500's 'unhandled error' line carries its own request's id as correlation_id."""
    from arena.services import events

    def broken(event_id: str) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(events, "get_event", broken)
    module = load_handler("events", "get_event")
    for request_id in ("req-obs-1", "req-obs-2"):
        event = api_event("events/get_event.json", path={"eventId": "ev-1"})
        event["requestContext"]["requestId"] = request_id

        assert module.lambda_handler(event, lambda_context)["statusCode"] == 500

        errors = [r for r in records(log_lines) if r["message"] == "unhandled error"]
        assert [r["correlation_id"] for r in errors] == [request_id]
        assert errors[0]["function_request_id"] == lambda_context.aws_request_id


def test_a_trade_queue_batchs_log_lines_carry_the_batch_id(
    tables: dict[str, str], frozen_clock: Any, lambda_context: Any, load_handler: Any, log_lines: io.StringIO
) -> None:
    """Given an SQS batch from the trade queue whose first message holds a trade that cannot be counted
    When the queue consumer takes it
    Then the 'trades rejected' line carries the batch's first messageId as correlation_id."""
    event = sample_event("trades/consume_trade_queue.json")
    first = event["Records"][0]
    first["messageId"] = "msg-obs-first"
    first["body"] = json.dumps({"trades": [{"trade_id": "T-bad", "user_id": "trader-1"}]})

    load_handler("trades", "consume_trade_queue").lambda_handler(event, lambda_context)

    rejected = [r for r in records(log_lines) if r["message"] == "trades rejected from queue message"]
    assert rejected and {r["correlation_id"] for r in rejected} == {"msg-obs-first"}


def test_a_stream_batchs_log_lines_carry_its_sequence_range(
    tables: dict[str, str], frozen_clock: Any, lambda_context: Any, load_handler: Any, log_lines: io.StringIO
) -> None:
    """Given two batches of the participants stream
    When the leaderboard refresher takes one after the other
    Then every line it writes for a batch carries that batch's '<first>..<last>' sequence numbers, never the
    previous batch's."""
    module = load_handler("leaderboard", "refresh_leaderboard")
    template = sample_event("leaderboard/refresh_leaderboard.json")["Records"][0]
    for first, last in (("1001", "1003"), ("2001", "2002")):
        batch = []
        for sequence in range(int(first), int(last) + 1):
            record = copy.deepcopy(template)
            record["dynamodb"]["SequenceNumber"] = str(sequence)
            batch.append(record)

        module.lambda_handler({"Records": batch}, lambda_context)

        lines = records(log_lines)
        assert lines, "the refresher logs every batch"
        assert {r["correlation_id"] for r in lines} == {f"{first}..{last}"}


def test_every_distribution_task_runs_with_its_executions_id(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given statemachine/distribution.asl.json run by moto's ASL interpreter (as on the local stack), each Lambda
    task answered by a recorder that plays a clean two-batch run
    When an execution runs to the end
    Then every task, the Map's batches too, received the execution's ARN as `execution_id`: the id the workflow
    handler puts on its log lines (`workflow_execution_id`)."""
    import time

    import boto3
    from arena.observability import correlation_id, workflow_execution_id
    from moto import mock_aws
    from moto.awslambda.models import LambdaBackend
    from moto.core.config import default_user_config

    tasks: list[dict[str, Any]] = []
    answers = {"calculate": {"batches": [0, 1], "status": "CALCULATED"}}

    def invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response: Any) -> bytes:
        task = json.loads(body)
        tasks.append(task)
        return json.dumps(answers.get(task["step"], {"ok": True})).encode()

    monkeypatch.setattr(LambdaBackend, "invoke", invoke)
    monkeypatch.setitem(default_user_config.setdefault("stepfunctions", {}), "execute_state_machine", True)
    definition = (ROOT / "statemachine" / "distribution.asl.json").read_text()
    function_arn = "arn:aws:lambda:us-east-1:123456789012:function:DistributionStepFunction"
    definition = definition.replace("${DistributionStepFunctionArn}", function_arn)
    with mock_aws():
        sfn = boto3.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="Distribution", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
        execution = sfn.start_execution(
            stateMachineArn=machine, name="run-obs-1", input=json.dumps({"event_id": "ev-1", "requested_by": "admin"})
        )["executionArn"]
        deadline = time.monotonic() + 60
        while (status := sfn.describe_execution(executionArn=execution)["status"]) == "RUNNING":
            assert time.monotonic() < deadline, "the execution never ended"
            time.sleep(0.05)

    assert status == "SUCCEEDED"
    steps = [t["step"] for t in tasks]
    assert sorted(steps) == sorted(
        ["validate", "freeze", "calculate", "distribute_batch", "distribute_batch", "verify", "complete"]
    )
    for task in tasks:
        assert task["execution_id"] == execution, task["step"]
        assert correlation_id(workflow_execution_id, task, None) == execution


def test_a_handler_called_without_a_lambda_context_is_still_observed(
    tables: dict[str, str],
    recorder: RecordingProvider,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_lines: io.StringIO,
) -> None:
    """Given the WebSocket ping route called as a script or a test calls it, with no Lambda context
    When it runs
    Then it answers, traced, its metrics flushed, its log lines correlated by the frame's request id."""
    from arena.services.realtime import subscriptions as realtime

    ping = realtime.ping

    def logged_ping(connection_id: str) -> dict[str, Any]:
        observability.logger.info("ping")
        return ping(connection_id)

    monkeypatch.setattr(realtime, "ping", logged_ping)
    spec = next(s for s in SPECS if s.logical_id == WEBSOCKET_ROUTES["ping"])
    handler = load_entry_point(spec)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    event = sample_event("realtime/ping.json")
    capsys.readouterr()

    answer = handler(event, None)

    assert "statusCode" in answer
    assert [s.name for s in recorder.subsegments] == ["## lambda_handler"]
    assert [b for b in emf_blobs(capsys.readouterr().out) if PROBE in b]
    pings = [r for r in records(log_lines) if r["message"] == "ping"]
    assert [r["correlation_id"] for r in pings] == [event["requestContext"]["requestId"]]
