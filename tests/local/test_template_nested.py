"""local.template reads nested stacks (AWS::Serverless::Application with a local Location) as part of their parent:
one flattened view, in the parent's terms, each function with its own stack's Globals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.template import (
    REPO_ROOT,
    CloudFormationLoader,
    LocalContext,
    NestedStackError,
    functions,
    load_stack_templates,
    load_template,
    resolve,
    resources_of_type,
    stack_globals,
)

PARENT = """
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Timeout: 29
    Environment: {Variables: {SHARED: parent, EVENTS_TABLE: !Ref EventsTable}}
Resources:
  EventsTable: {Type: AWS::DynamoDB::Table, Properties: {KeySchema: [], AttributeDefinitions: []}}
  ParentFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/parent/
      Handler: app.handler
      Environment: {Variables: {CHILD_QUEUE: !GetAtt AreaStack.Outputs.QueueUrl}}
  AreaStack:
    Type: AWS::Serverless::Application
    Properties:
      Location: stacks/area.yaml
      Parameters:
        Stage: !Ref Stage
        EventsTable: !Ref EventsTable
        EventsStreamArn: !GetAtt EventsTable.StreamArn
        Label: !Sub "area-${Stage}"
Outputs:
  QueueUrl:
    Value: !GetAtt AreaStack.Outputs.QueueUrl
  Where:
    Value: !Sub "queue ${AreaStack.Outputs.QueueUrl} in ${Stage}"
"""

CHILD = """
Parameters:
  Stage: {Type: String}
  EventsTable: {Type: String}
  EventsStreamArn: {Type: String}
  Label: {Type: String}
  Unpassed: {Type: String, Default: fallback}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Timeout: 10
    Environment: {Variables: {SHARED: child, EVENTS_TABLE: !Ref EventsTable}}
Resources:
  AreaQueue: {Type: AWS::SQS::Queue, Properties: {}}
  AreaFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../functions/area/
      Handler: area.handler
      Environment:
        Variables:
          LABEL: !Ref Label
          NAMED: !Sub "${Label}-${Unpassed}-${AWS::Region}"
          PROD: !If [IsProd, "yes", "no"]
      Events:
        Changes: {Type: DynamoDB, Properties: {Stream: !Ref EventsStreamArn, StartingPosition: LATEST}}
Outputs:
  QueueUrl:
    Value: !Ref AreaQueue
"""


def _write(root: Path, parent: str = PARENT, child: str = CHILD) -> Path:
    (root / "stacks").mkdir(exist_ok=True)
    (root / "stacks" / "area.yaml").write_text(child, encoding="utf-8")
    path = root / "template.yaml"
    path.write_text(parent, encoding="utf-8")
    return path


def test_a_child_s_resources_join_the_parent_s_in_the_parent_s_terms(tmp_path: Path) -> None:
    """Given a parent that passes its table, its stream and a Sub to a child, and reads the child's output back
    When the template is loaded
    Then one view holds both stacks' resources, the application itself replaced by its child's"""
    # When
    template = load_template(_write(tmp_path))
    resources = template["Resources"]

    # Then
    assert set(resources) == {"EventsTable", "ParentFunction", "AreaQueue", "AreaFunction"}
    assert template["NestedStacks"]["AreaStack"]["Resources"] == ["AreaQueue", "AreaFunction"]
    # And a child's parameter is the expression the parent passes (or the child's default), also inside a Sub
    child_fn = resources["AreaFunction"]["Properties"]
    assert child_fn["Environment"]["Variables"]["LABEL"] == {"Fn::Sub": "area-${Stage}"}
    assert child_fn["Environment"]["Variables"]["NAMED"] == {
        "Fn::Sub": ["${Label}-fallback-${AWS::Region}", {"Label": {"Fn::Sub": "area-${Stage}"}}]
    }
    assert child_fn["Events"]["Changes"]["Properties"]["Stream"] == {"Fn::GetAtt": ["EventsTable", "StreamArn"]}
    # And its code folder is taken from the parent's folder, as sam build takes it from the child's
    assert child_fn["CodeUri"] == "functions/area/"
    # And the parent's GetAtt of the child's output is that output's expression, also inside a Sub
    assert resources["ParentFunction"]["Properties"]["Environment"]["Variables"]["CHILD_QUEUE"] == {"Ref": "AreaQueue"}
    assert template["Outputs"]["QueueUrl"]["Value"] == {"Ref": "AreaQueue"}
    assert template["Outputs"]["Where"]["Value"] == {"Fn::Sub": "queue ${AreaQueue} in ${Stage}"}


def test_each_function_gets_its_own_stack_s_globals_and_resolves_locally(tmp_path: Path) -> None:
    """Given the parent and child above, loaded as one
    When their functions are read and resolved for a prod run
    Then the child's function has the child's Globals and the parent's the parent's"""
    template = load_template(_write(tmp_path))

    # When
    specs = {spec.logical_id: spec for spec in functions(template)}
    context = LocalContext(template=template, parameters={"Stage": "prod"})
    context.add_table("EventsTable", "events-local", stream_arn="arn:stream/events")
    context.add_queue("AreaQueue", "http://queue/area", "arn:queue/area", "area")
    child_env = resolve(specs["AreaFunction"].environment, context)

    # Then
    assert stack_globals(template, "AreaFunction")["Function"]["Timeout"] == 10
    assert (specs["AreaFunction"].timeout, specs["ParentFunction"].timeout) == (10, 29)
    assert child_env["SHARED"] == "child"
    assert resolve(specs["ParentFunction"].environment, context)["SHARED"] == "parent"
    # And the child's values resolve through the parent's parameters, tables and the child's condition
    assert child_env["EVENTS_TABLE"] == "events-local"
    assert (child_env["LABEL"], child_env["PROD"]) == ("area-prod", "yes")
    assert resolve(specs["AreaFunction"].events[0][1]["Stream"], context) == "arn:stream/events"
    assert resolve(specs["ParentFunction"].environment, context)["CHILD_QUEUE"] == "http://queue/area"


@pytest.mark.parametrize(
    ("parent", "child", "message"),
    [
        (
            PARENT,
            CHILD.replace("  AreaQueue:", "  EventsTable:").replace("!Ref AreaQueue", "!Ref EventsTable"),
            "logical id EventsTable is in both",
        ),
        (PARENT.replace('        Label: !Sub "area-${Stage}"\n', ""), CHILD, "needs parameter Label"),
        (
            PARENT.replace("Stage: !Ref Stage\n", "Stage: !Ref Stage\n        Extra: x\n"),
            CHILD,
            "passes Extra, which area.yaml does not declare",
        ),
        (
            PARENT,
            CHILD.replace("IsProd: !Equals [!Ref Stage, prod]", "IsProd: !Equals [!Ref Stage, dev]"),
            "condition IsProd of AreaStack differs",
        ),
    ],
    ids=["duplicate logical id", "parameter without value", "unknown parameter", "clashing condition"],
)
def test_a_child_the_view_cannot_hold_is_refused_with_a_clear_error(
    tmp_path: Path, parent: str, child: str, message: str
) -> None:
    """Given a parent and a child that do not fit together
    When loaded
    Then the error says why."""
    with pytest.raises(NestedStackError, match=message):
        load_template(_write(tmp_path, parent, child))


def test_a_built_template_s_child_is_read_from_the_build_output(tmp_path: Path) -> None:
    """Given what sam build writes: the application's Location and the child's code folders rewritten
    When it is loaded
    Then the child's function's code is its build folder, relative to the parent's"""
    built_parent = PARENT.replace("Location: stacks/area.yaml", "Location: AreaStack/template.yaml")
    built_child = CHILD.replace("CodeUri: ../functions/area/", "CodeUri: AreaFunction")
    (tmp_path / "AreaStack").mkdir()
    (tmp_path / "AreaStack" / "template.yaml").write_text(built_child, encoding="utf-8")
    (tmp_path / "template.yaml").write_text(built_parent, encoding="utf-8")

    # When
    template = load_template(tmp_path / "template.yaml")

    # Then
    (area,) = [spec for spec in functions(template) if spec.logical_id == "AreaFunction"]
    assert area.code_uri == "AreaStack/AreaFunction"
    assert load_stack_templates(tmp_path / "template.yaml") == {
        "": tmp_path / "template.yaml",
        "AreaStack": (tmp_path / "AreaStack" / "template.yaml").resolve(),
    }


def _names(value: Any) -> set[str]:
    """Every logical id a value refers to (Ref, GetAtt, ${...} in Sub)."""
    if isinstance(value, list):
        return set().union(set(), *(_names(item) for item in value))
    if not isinstance(value, dict):
        return set()
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            return {argument}
        if key == "Fn::GetAtt":
            return {argument[0]}
        if key == "Fn::Sub":
            text = argument[0] if isinstance(argument, list) else argument
            found = {name.partition(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
            return found | (_names(argument[1]) if isinstance(argument, list) else set())
    return set().union(set(), *(_names(item) for item in value.values()))


def test_template_yaml_runs_the_real_time_area_in_its_own_stack() -> None:
    """Given template.yaml as the local stack reads it, and the stacks it deploys
    When the nested stacks are read
    Then the real-time area is a nested stack read as part of the parent, whose names the parent alone does not use."""
    template = load_template()
    stacks = load_stack_templates()
    with (REPO_ROOT / "template.yaml").open(encoding="utf-8") as handle:
        parent_alone = yaml.load(handle, Loader=CloudFormationLoader)

    # Then the real-time area is a nested stack, read as part of the parent
    assert stacks == {
        "": REPO_ROOT / "template.yaml",
        "RealtimeStack": REPO_ROOT / "stacks" / "realtime.yaml",
        "NotificationsStack": REPO_ROOT / "stacks" / "notifications.yaml",
        "WebStack": REPO_ROOT / "stacks" / "web.yaml",
    }
    realtime = set(template["NestedStacks"]["RealtimeStack"]["Resources"])
    assert {
        "WebSocketApi",
        "ConnectionsTable",
        "FanoutQueue",
        "WebSocketFunction",
        "PushDomainEventFunction",
    } <= realtime
    assert "RealtimeStack" not in template["Resources"]
    assert resources_of_type(template, "AWS::ApiGatewayV2::Api")
    # And what the parent outputs about it is the child's own expression
    assert template["Outputs"]["ConnectionsEndpoint"]["Value"] == {
        "Fn::Sub": "https://${WebSocketApi}.execute-api.${AWS::Region}.amazonaws.com/${Stage}"
    }
    # And the parent alone names none of the child's resources (CloudFormation resolves names per stack)
    assert not _names(parent_alone) & realtime
