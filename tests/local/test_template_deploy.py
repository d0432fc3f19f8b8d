"""template.yaml is deployable and operable: each of its stacks (the parent and every nested stack of stacks/) fits
CloudFormation's limit after the SAM transform, every function
ships through its alias and is rolled back by its own alarm, everything that invokes a function goes through that
alias, stateful data survives the stack, every asynchronous source keeps what fails, every dead letter and stream
lag raises an alarm, and prod names its CORS origins. The checks read the flattened view of every stack
(`load_template`), so they hold in each stack.

The transform needs samtranslator, which lives in .venv-tools (sam, cfn-lint), not in the test venv: it runs in a
subprocess of .venv-tools/bin/python, which `make test` builds first (test -> validate -> tools).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from local.template import (
    NESTED_STACKS_KEY,
    REPO_ROOT,
    load_stack_templates,
    load_template,
    resources_of_type,
    stack_globals,
)

CLOUDFORMATION_RESOURCE_LIMIT = 500
TOOLS_PYTHON = REPO_ROOT / ".venv-tools" / "bin" / "python"

# Tables whose loss or silent overwrite loses money, prizes, claims or the audit trail (and the trade dedupe
# records a restore of participants needs).
MONEY_PRIZE_CLAIM_AUDIT_TABLES = {
    "EventsTable",
    "ParticipantsTable",
    "TradesTable",
    "LedgerTable",
    "ResultsTable",
    "DistributionTable",
    "ClaimsTable",
    "AuditTable",
}

# What the transform gets: each template with its local code folders and nested templates replaced by S3 URIs, as
# `sam package` does; one transformed template per argument, in order.
_TRANSFORM = """
import json, re, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

results = []
for path in sys.argv[1:]:
    source = re.sub(r"(CodeUri|ContentUri|DefinitionUri): \\S+", r"\\1: s3://bucket/key", open(path).read())
    source = re.sub(r"Location: \\S+", "Location: https://s3.amazonaws.com/bucket/key.yaml", source)
    results.append(transform(yaml_parse(source), {}, NoManagedPolicies()))
json.dump(results, sys.stdout, default=str)
"""


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def stacks() -> dict[str, Any]:
    """{stack: template path}: the parent as "", each nested stack under its application's logical id."""
    return load_stack_templates()


@pytest.fixture(scope="module")
def transformed_stacks(stacks: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{stack: its template after the SAM transform}: what CloudFormation deploys, one stack each."""
    assert TOOLS_PYTHON.exists(), f"{TOOLS_PYTHON} is missing: run `make tools` (make test does)"
    result = subprocess.run(
        [str(TOOLS_PYTHON), "-c", _TRANSFORM, *(str(path) for path in stacks.values())],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(zip(stacks, json.loads(result.stdout), strict=True))


def _stack_of(template: dict[str, Any], logical_id: str) -> str:
    """The stack a resource of the flattened template deploys in ("" for the parent)."""
    for app_id, stack in (template.get(NESTED_STACKS_KEY) or {}).items():
        if logical_id in stack["Resources"]:
            return str(app_id)
    return ""


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _refs(value: Any) -> set[str]:
    """Every logical id `value` refers to: Ref, GetAtt, and ${...} inside Sub strings."""
    found = set()
    for node in _walk(value):
        if isinstance(node, dict) and len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif key == "Fn::GetAtt":
                found.add(argument[0] if isinstance(argument, list) else argument.partition(".")[0])
            elif key == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) else argument
                found |= {name.partition(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
    return found


def _alarms_watching(template: dict[str, Any], function_id: str) -> dict[str, set[str]]:
    """{alarm id: metric names} of every alarm with a metric whose FunctionName dimension is this function."""
    watching = {}
    for alarm_id, props in resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        metrics = [props] + [
            query["MetricStat"]["Metric"] for query in props.get("Metrics", []) if "MetricStat" in query
        ]
        names = {
            metric["MetricName"]
            for metric in metrics
            for dimension in metric.get("Dimensions", [])
            if dimension["Name"] == "FunctionName" and dimension["Value"] == {"Ref": function_id}
        }
        if names:
            watching[alarm_id] = names
    return watching


# ---------------------------------------------------------------------------------------------- resource budget


def test_each_transformed_stack_fits_in_cloudformation_s_limit(
    stacks: dict[str, Any], transformed_stacks: dict[str, dict[str, Any]]
) -> None:
    """Given each stack after the SAM transform (a Version, an Alias and a DeploymentGroup per function included)
    When its resources are counted
    Then CloudFormation accepts it as a stack, and the parent deploys each child as a stack."""
    assert len(transformed_stacks) >= 2  # the parent and the real-time stack at least
    print()
    for name, transformed in transformed_stacks.items():
        count = len(transformed["Resources"])
        where = stacks[name].relative_to(REPO_ROOT)
        print(
            f"{where} ({name or 'parent'}) after the SAM transform: {count} resources"
            f" (CloudFormation allows {CLOUDFORMATION_RESOURCE_LIMIT} per stack)"
        )

        # Then
        assert count < CLOUDFORMATION_RESOURCE_LIMIT, name
    # And the parent deploys each child as a stack
    parent = transformed_stacks[""]["Resources"]
    for name in transformed_stacks:
        if name:
            assert parent[name]["Type"] == "AWS::CloudFormation::Stack", name


# ---------------------------------------------------------------------------------------------- deployments


def test_every_function_ships_through_its_alias_rolled_back_by_its_own_alarm(
    template: dict[str, Any], transformed_stacks: dict[str, dict[str, Any]]
) -> None:
    """Given the functions of every stack, the globals each inherits from its own stack and the transformed stacks
    When each function's deployment is read
    Then prod shifts traffic by canary and dev at once, each watched by its own alarm that rolls its alias back."""
    functions = resources_of_type(template, "AWS::Serverless::Function")
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}

    used_alarms: dict[str, str] = {}
    for function_id, props in functions.items():
        globals_ = stack_globals(template, function_id)["Function"]
        resources = transformed_stacks[_stack_of(template, function_id)]["Resources"]
        assert globals_["AutoPublishAlias"] == "live", function_id
        # Then prod shifts traffic by canary and dev all at once
        assert globals_["DeploymentPreference"]["Type"] == {
            "Fn::If": ["IsProd", "Canary10Percent5Minutes", "AllAtOnce"]
        }, function_id

        # And each function's deployment is watched by exactly one alarm, on its own errors and throttles
        alarms = props["DeploymentPreference"]["Alarms"]
        assert len(alarms) == 1, function_id
        alarm_id = alarms[0]["Ref"]
        assert alarm_id not in used_alarms, f"{function_id} shares {alarm_id} with {used_alarms.get(alarm_id)}"
        used_alarms[alarm_id] = function_id
        assert _alarms_watching(template, function_id).get(alarm_id) == {"Errors", "Throttles"}, function_id
        assert props.get("AutoPublishAliasAllProperties") is True, function_id

        # And CodeDeploy's deployment group rolls the alias back when that alarm fires
        group = resources[f"{function_id}DeploymentGroup"]["Properties"]
        assert group["AlarmConfiguration"] == {"Enabled": True, "Alarms": [{"Name": {"Ref": alarm_id}}]}
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
        assert resources[f"{function_id}Aliaslive"]["Type"] == "AWS::Lambda::Alias"


@pytest.mark.parametrize(
    "stack", ["", "RealtimeStack", "NotificationsStack"], ids=["parent", "RealtimeStack", "NotificationsStack"]
)
def test_everything_that_invokes_a_function_goes_through_its_alias(
    transformed_stacks: dict[str, dict[str, Any]], stack: str
) -> None:
    """Given a transformed stack, its functions and their aliases
    When everything that invokes a function is collected
    Then none of them names a function itself, only aliases, and every function is reached through its alias."""
    resources = transformed_stacks[stack]["Resources"]
    functions = {rid for rid, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    aliases = {f"{function_id}Aliaslive" for function_id in functions}
    invokers: dict[str, Any] = {}
    for rid, resource in resources.items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Lambda::Permission" or kind == "AWS::Lambda::EventSourceMapping":
            invokers[rid] = props["FunctionName"]
        elif kind == "AWS::Events::Rule":
            invokers[rid] = [target["Arn"] for target in props["Targets"]]
        elif kind == "AWS::Scheduler::Schedule":
            invokers[rid] = props["Target"]["Arn"]
        elif kind == "AWS::ApiGatewayV2::Integration":
            invokers[rid] = props["IntegrationUri"]
        elif kind == "AWS::ApiGatewayV2::Api" and "Body" in props:  # SAM's HTTP API: integrations in the body
            invokers[rid] = [
                operation["x-amazon-apigateway-integration"]["uri"]
                for path in props["Body"]["paths"].values()
                for operation in path.values()
                if "x-amazon-apigateway-integration" in operation
            ]
        elif kind == "AWS::StepFunctions::StateMachine":
            invokers[rid] = props["DefinitionSubstitutions"]
        elif kind == "AWS::Lambda::Function":
            invokers[rid] = props.get("Environment", {})  # function ARNs handed to schedules
        elif kind == "AWS::IAM::Role" and "scheduler.amazonaws.com" in json.dumps(props["AssumeRolePolicyDocument"]):
            invokers[rid] = props.get("Policies", [])
    assert len(invokers) > len(functions)

    # Then none of them names a function itself (its unqualified ARN or name), only aliases
    for rid, value in invokers.items():
        assert not (_refs(value) & functions), (rid, _refs(value) & functions)
    # And every function is reached, through its alias
    targets = set().union(*(_refs(value) for value in invokers.values()))
    assert aliases <= targets, sorted(aliases - targets)
    if "DistributionStateMachine" in invokers:
        assert "DistributionStepFunctionAliaslive" in _refs(invokers["DistributionStateMachine"])


def test_every_stack_is_checked_for_aliases(stacks: dict[str, Any]) -> None:
    """Given the stacks the template deploys
    When they are listed
    Then they are the ones the alias test above runs on (a new child is added there)."""
    # Given the stacks the template deploys; Then the alias test above runs on each (a new child is added there)
    assert set(stacks) == {"", "RealtimeStack", "NotificationsStack"}


# ---------------------------------------------------------------------------------------------- data


def test_tables_holding_money_prizes_claims_or_audit_are_retained_and_recoverable(template: dict[str, Any]) -> None:
    """Given every table of the template
    When its deletion, replacement and recovery settings are read
    Then each says what happens to it, and those holding money, prizes, claims or audit are retained and recoverable."""
    resources = template["Resources"]
    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    assert set(tables) >= MONEY_PRIZE_CLAIM_AUDIT_TABLES

    for table_id in tables:
        # Then each says what happens to it on deletion and replacement (the rest are derived or short-lived)
        assert resources[table_id].get("DeletionPolicy") in ("Retain", "Delete"), table_id
        assert resources[table_id].get("UpdateReplacePolicy") == resources[table_id]["DeletionPolicy"], table_id
    for table_id in MONEY_PRIZE_CLAIM_AUDIT_TABLES:
        # And those holding money, prizes, claims or audit outlive the stack and restore to any second of 35 days
        assert resources[table_id]["DeletionPolicy"] == "Retain", table_id
        assert resources[table_id]["UpdateReplacePolicy"] == "Retain", table_id
        assert tables[table_id]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, table_id
    assert resources["UserPool"]["DeletionPolicy"] == "Retain"


def test_users_cannot_write_their_own_kyc_level_or_account_type(template: dict[str, Any]) -> None:
    """Given the user pool's custom attributes and its clients that sign users in
    When each client's write and read attributes are read
    Then a user may change only standard attributes, and the tokens still carry the custom ones."""
    custom = {f"custom:{a['Name']}" for a in template["Resources"]["UserPool"]["Properties"]["Schema"]}
    assert custom >= {"custom:kyc_level", "custom:account_type"}
    clients = {
        client_id: props
        for client_id, props in resources_of_type(template, "AWS::Cognito::UserPoolClient").items()
        if props.get("AllowedOAuthFlows") != ["client_credentials"]  # machine clients have no users
    }
    assert clients

    for client_id, props in clients.items():
        # Then
        assert props.get("WriteAttributes"), f"{client_id}: without WriteAttributes every attribute is writable"
        assert not any(attribute.startswith("custom:") for attribute in props["WriteAttributes"]), client_id
        assert set(props["ReadAttributes"]) >= custom, client_id


# ---------------------------------------------------------------------------------------------- failures kept


def _function_events(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for function_id, props in resources_of_type(template, "AWS::Serverless::Function").items():
        for event in (props.get("Events") or {}).values():
            yield function_id, event["Type"], event.get("Properties") or {}


def _scheduled_functions(template: dict[str, Any]) -> set[str]:
    """Functions invoked by EventBridge Scheduler through a role of the template (the one-shot schedules)."""
    found = set()
    for props in resources_of_type(template, "AWS::IAM::Role").values():
        if "scheduler.amazonaws.com" not in json.dumps(props["AssumeRolePolicyDocument"]):
            continue
        for statement in _walk(props.get("Policies", [])):
            if isinstance(statement, dict) and statement.get("Action") == "lambda:InvokeFunction":
                found |= {ref.partition(".")[0] for ref in _refs(statement["Resource"])}
    return found


def test_every_asynchronous_source_keeps_what_fails(template: dict[str, Any]) -> None:
    """Given every event source of every function, and the functions the one-shot schedules invoke
    When what each does with a failure is read
    Then schedules, streams, queues and asynchronous invocations each keep what fails in a queue."""
    queues = resources_of_type(template, "AWS::SQS::Queue")
    asynchronous = set(_scheduled_functions(template))
    assert asynchronous  # the lifecycle function at least
    checked = 0
    for function_id, event_type, props in _function_events(template):
        checked += 1
        if event_type in ("Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent"):
            # Then what a schedule or rule cannot deliver goes to a queue
            assert _refs(props["DeadLetterConfig"]["Arn"]) <= set(queues), function_id
            asynchronous.add(function_id)
        elif event_type in ("DynamoDB", "Kinesis"):
            # And a stream batch given up on is recorded in a queue
            assert _refs(props["DestinationConfig"]["OnFailure"]["Destination"]) <= set(queues), function_id
            assert props.get("MaximumRetryAttempts", -1) >= 0, f"{function_id} would retry for 24 hours"
        elif event_type == "SQS":
            # And a queue's message that keeps failing moves to its dead-letter queue
            (queue_id,) = _refs(props["Queue"])
            assert "RedrivePolicy" in queues[queue_id], queue_id
    assert checked

    functions = resources_of_type(template, "AWS::Serverless::Function")
    for function_id in asynchronous:
        # And an asynchronous invocation that still fails after Lambda's retries goes to a queue
        destination = functions[function_id]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert destination["Type"] == "SQS" and _refs(destination["Destination"]) <= set(queues), function_id


def _dead_letter_queues(template: dict[str, Any]) -> set[str]:
    queues = set(resources_of_type(template, "AWS::SQS::Queue"))
    found = set()
    for props in resources_of_type(template, "AWS::SQS::Queue").values():
        if "RedrivePolicy" in props:
            found |= _refs(props["RedrivePolicy"]["deadLetterTargetArn"])
    for _, _, props in _function_events(template):
        found |= _refs(props.get("DeadLetterConfig")) | _refs(props.get("DestinationConfig"))
    for props in resources_of_type(template, "AWS::Serverless::Function").values():
        found |= _refs(props.get("EventInvokeConfig"))
    return found & queues


def test_every_dead_letter_queue_and_stream_consumer_raises_an_alarm(template: dict[str, Any]) -> None:
    """Given the dead-letter queues, the stream consumers and the alarms
    When the alarms are matched to them
    Then a single message in any DLQ raises an alarm, and so does every stream consumer falling behind."""
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    dead_letters = _dead_letter_queues(template)
    assert len(dead_letters) >= 6

    for queue_id in dead_letters:
        # Then
        assert any(
            props.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and props["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
            and props["Threshold"] == 0
            and props["ComparisonOperator"] == "GreaterThanThreshold"
            for props in alarms.values()
        ), queue_id
    for function_id, event_type, _ in _function_events(template):
        if event_type in ("DynamoDB", "Kinesis"):
            # And every stream consumer falling behind raises one
            assert "IteratorAge" in set().union(*_alarms_watching(template, function_id).values()), function_id


def test_every_alarm_notifies_the_alarm_topic(template: dict[str, Any]) -> None:
    """Given every alarm of the template
    When its actions are read
    Then each tells the team through the one topic, which e-mails when an address is set."""
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) > len(resources_of_type(template, "AWS::Serverless::Function"))
    for alarm_id, props in alarms.items():
        assert {"Ref": "AlarmTopic"} in props["AlarmActions"], alarm_id
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_logs_are_kept_for_the_stage_s_retention(template: dict[str, Any]) -> None:
    """Given the log groups, the functions and the API stages
    When their logging settings are read
    Then every log group expires after the stage's retention, and every function and both APIs log into one."""
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    for group_id, props in log_groups.items():
        # Then
        assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}, group_id
    for function_id, props in resources_of_type(template, "AWS::Serverless::Function").items():
        # And every function logs into one of them
        assert _refs(props["LoggingConfig"]["LogGroup"]) <= set(log_groups), function_id
    # And both APIs write access logs into one of them
    http_api = template["Resources"]["HttpApi"]["Properties"]
    websocket_stage = template["Resources"]["WebSocketStage"]["Properties"]
    for settings in (http_api["AccessLogSettings"], websocket_stage["AccessLogSettings"]):
        assert _refs(settings["DestinationArn"]) <= set(log_groups)


# ---------------------------------------------------------------------------------------------- stages


def _overrides(profile: dict[str, Any]) -> dict[str, str]:
    raw = profile["deploy"]["parameters"]["parameter_overrides"]
    items = raw if isinstance(raw, list) else shlex.split(raw)
    pairs = (item.partition("=") for item in items)
    return {key: value.strip("\"'") for key, _, value in pairs}


def test_each_stage_profile_sets_the_stage_parameters(template: dict[str, Any]) -> None:
    """Given the deploy profiles
    When their parameter overrides are read
    Then each names its stage with template parameters only, and prod allows no "*" origin."""
    with (REPO_ROOT / "samconfig.toml").open("rb") as handle:
        config = tomllib.load(handle)
    dev, prod = _overrides(config["dev"]), _overrides(config["prod"])

    # Then each names its stage, and every value it sets is a parameter of the template
    assert (dev["Stage"], prod["Stage"]) == ("dev", "prod")
    assert set(dev) | set(prod) <= set(template["Parameters"])
    for overrides in (dev, prod):
        assert {"LogLevel", "LogRetentionDays", "CorsOrigins", "ApiThrottleRate", "ApiThrottleBurst"} <= set(overrides)

    # And prod allows no "*" origin (the template's own rule refuses one as well)
    assert "*" not in [origin.strip() for origin in prod["CorsOrigins"].split(",")]
    rule = template["Rules"]["ProdCorsIsExplicit"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Contains": [{"Ref": "CorsOrigins"}, "*"]}]}
