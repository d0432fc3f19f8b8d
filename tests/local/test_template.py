"""local.template: template.yaml read, its tables and queues built in moto, its routes listed, intrinsics resolved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.template import (
    REPO_ROOT,
    LocalContext,
    create_queues,
    create_tables,
    functions,
    http_routes,
    load_template,
    queue_definitions,
    resolve,
    resources_of_type,
    route_throttling,
    table_definitions,
    ttl_attributes,
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------- loading


def test_short_tags_load_as_their_long_forms(tmp_path: Path) -> None:
    """Given a template using every short tag
    When it is loaded
    Then each tag is the long-form intrinsic, and the format version stays a string"""
    path = _write(
        tmp_path,
        """
AWSTemplateFormatVersion: 2010-09-09
Resources:
  X:
    Type: Custom::Thing
    Properties:
      Ref: !Ref Table
      GetAttString: !GetAtt Table.StreamArn
      GetAttDotted: !GetAtt Db.Endpoint.Address
      GetAttList: !GetAtt [Table, Arn]
      Sub: !Sub "arn:${AWS::Partition}:x"
      SubList: !Sub ["${A}-b", {A: !Ref Stage}]
      Join: !Join ["-", [a, !Ref Stage]]
      If: !If [IsProd, 1, 2]
      Select: !Select [0, !GetAZs ""]
      Split: !Split [",", "a,b"]
      Map: !FindInMap [M, a, b]
      Import: !ImportValue Other
      Eq: !Equals [a, b]
      Not: !Not [!Condition IsProd]
      And: !And [!Condition IsProd, !Equals [a, a]]
      Or: !Or [!Condition IsProd, !Equals [a, a]]
      B64: !Base64 text
      Cidr: !Cidr ["10.0.0.0/16", 2, 8]
""",
    )

    # When
    props = load_template(path)["Resources"]["X"]["Properties"]

    # Then
    assert load_template(path)["AWSTemplateFormatVersion"] == "2010-09-09"
    assert props["Ref"] == {"Ref": "Table"}
    assert props["GetAttString"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert props["GetAttDotted"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert props["GetAttList"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert props["Sub"] == {"Fn::Sub": "arn:${AWS::Partition}:x"}
    assert props["SubList"] == {"Fn::Sub": ["${A}-b", {"A": {"Ref": "Stage"}}]}
    assert props["Join"] == {"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}
    assert props["If"] == {"Fn::If": ["IsProd", 1, 2]}
    assert props["Select"] == {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert props["Split"] == {"Fn::Split": [",", "a,b"]}
    assert props["Map"] == {"Fn::FindInMap": ["M", "a", "b"]}
    assert props["Import"] == {"Fn::ImportValue": "Other"}
    assert props["Eq"] == {"Fn::Equals": ["a", "b"]}
    assert props["Not"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert props["And"] == {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": ["a", "a"]}]}
    assert props["Or"] == {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": ["a", "a"]}]}
    assert props["B64"] == {"Fn::Base64": "text"}
    assert props["Cidr"] == {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}


def test_the_project_template_loads_from_the_repository_root() -> None:
    """Given the default, relative path
    When the template is loaded
    Then it is the repository's template.yaml, with tables."""
    # Given the default, relative path; When loaded; Then it is the repository's template.yaml
    assert load_template() == load_template(REPO_ROOT / "template.yaml")
    assert resources_of_type(load_template(), "AWS::DynamoDB::Table")


# ---------------------------------------------------------------------------------------------- tables


def test_tables_created_in_moto_match_the_template(aws: None, template: dict[str, Any]) -> None:
    """Given the tables of template.yaml
    When they are created
    Then every table has the template's keys, attributes, indexes, stream and TTL"""
    declared = resources_of_type(template, "AWS::DynamoDB::Table")
    client = boto3.client("dynamodb")

    # When
    names = create_tables(client, template)

    # Then
    assert names == {logical_id: logical_id for logical_id in declared}
    for logical_id, props in declared.items():
        table = client.describe_table(TableName=names[logical_id])["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
            (a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]
        }
        created_gsis = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
        assert set(created_gsis) == {index["IndexName"] for index in props.get("GlobalSecondaryIndexes", [])}
        for index in props.get("GlobalSecondaryIndexes", []):
            assert created_gsis[index["IndexName"]]["KeySchema"] == index["KeySchema"]
            assert (
                created_gsis[index["IndexName"]]["Projection"]["ProjectionType"]
                == index["Projection"]["ProjectionType"]
            )
        stream = props.get("StreamSpecification")
        if stream:
            assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
            assert table["LatestStreamArn"]
        else:
            assert "LatestStreamArn" not in table
    for logical_id, attribute in ttl_attributes(template).items():
        ttl = client.describe_time_to_live(TableName=names[logical_id])["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", attribute)


def test_table_definitions_keep_only_what_create_table_takes(template: dict[str, Any]) -> None:
    """Given the template's tables
    When turned into create_table kwargs with a local name map
    Then the names follow the map and nothing create_table rejects is left."""
    first = next(iter(resources_of_type(template, "AWS::DynamoDB::Table")))
    definitions = table_definitions(template, names={first: "arena-test-" + first})

    # Then
    assert definitions[first]["TableName"] == "arena-test-" + first
    allowed = {
        "TableName",
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "StreamSpecification",
    }
    for kwargs in definitions.values():
        assert set(kwargs) <= allowed


def test_create_tables_with_exist_ok_leaves_existing_tables(aws: None, template: dict[str, Any]) -> None:
    """Given the tables already exist
    When created again with exist_ok, and without it
    Then the same names come back, and without it the clash is an error."""
    client = boto3.client("dynamodb")
    first = create_tables(client, template)

    # When / Then
    assert create_tables(client, template, exist_ok=True) == first
    with pytest.raises(client.exceptions.ResourceInUseException):
        create_tables(client, template)


# ---------------------------------------------------------------------------------------------- queues


def test_queues_are_created_with_the_redrive_policy_resolved_to_the_dlq(aws: None, template: dict[str, Any]) -> None:
    """Given the template's queues
    When they are created
    Then each exists, and a redrive policy names its dead-letter queue's ARN"""
    client = boto3.client("sqs")

    # When
    queues = create_queues(client, template)

    # Then
    assert set(queues) == set(queue_definitions(template))
    for logical_id, definition in queue_definitions(template).items():
        attributes = client.get_queue_attributes(QueueUrl=queues[logical_id]["url"], AttributeNames=["All"])[
            "Attributes"
        ]
        assert attributes["QueueArn"] == queues[logical_id]["arn"]
        for name, value in definition["Attributes"].items():
            assert attributes[name] == value
        if definition["RedrivePolicy"]:
            target = definition["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            policy = json.loads(attributes["RedrivePolicy"])
            assert policy["deadLetterTargetArn"] == queues[target]["arn"]
            assert policy["maxReceiveCount"] == int(definition["RedrivePolicy"]["maxReceiveCount"])


# ---------------------------------------------------------------------------------------------- functions, routes


def test_routes_match_the_http_api_events_of_the_template(template: dict[str, Any]) -> None:
    """Given every HttpApi event as written in the template
    When the routes are listed
    Then they are exactly those, in template order."""
    default_authorizer = template["Resources"]["HttpApi"]["Properties"].get("Auth", {}).get("DefaultAuthorizer")
    expected = []
    for logical_id, props in resources_of_type(template, "AWS::Serverless::Function").items():
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                p = event["Properties"]
                authorizer = (p.get("Auth") or {}).get("Authorizer", default_authorizer)
                expected.append((p["Method"].upper(), p["Path"], logical_id, authorizer not in (None, "NONE")))

    # When / Then
    assert [tuple(route) for route in http_routes(template)] == expected
    assert expected  # the template does serve HTTP routes


def test_auth_none_routes_are_public_and_route_settings_override_throttling(tmp_path: Path) -> None:
    """Given an API with a default authorizer, a public route and a per-route throttle
    When routes and throttling are read
    Then the public route needs no auth, and its burst comes from RouteSettings, its rate from the defaults"""
    template = load_template(
        _write(
            tmp_path,
            """
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5}
      RouteSettings:
        "GET /open": {ThrottlingBurstLimit: 1}
      Auth: {DefaultAuthorizer: Jwt, Authorizers: {Jwt: {}}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Events:
        Closed: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /closed, Method: post}}
        Open: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /open, Method: GET, Auth: {Authorizer: NONE}}}
""",
        )
    )

    # When
    routes = http_routes(template)

    # Then
    assert routes == [("POST", "/closed", "Fn", True), ("GET", "/open", "Fn", False)]
    assert route_throttling(template) == {"POST /closed": (10, 5), "GET /open": (1, 5)}


def test_route_throttling_comes_from_default_route_settings(template: dict[str, Any]) -> None:
    """Given the HTTP API's default route settings (stage parameters whose defaults run locally)
    When the route throttling is read
    Then every route has those burst and rate limits."""
    # (the limits are stage parameters: their defaults are what runs locally)
    settings = resolve(template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"], LocalContext(template))
    throttling = route_throttling(template)
    assert set(throttling) == {route.route_key for route in http_routes(template)}
    assert set(throttling.values()) == {(settings["ThrottlingBurstLimit"], settings["ThrottlingRateLimit"])}


def test_functions_merge_the_global_environment_with_their_own(tmp_path: Path) -> None:
    """Given globals and a function that overrides one variable and adds another
    When the functions are read
    Then the function's own values win, and the globals fill the rest"""
    template = load_template(
        _write(
            tmp_path,
            """
Globals:
  Function:
    Timeout: 29
    MemorySize: 512
    Environment: {Variables: {A: global, B: !Ref T}}
Resources:
  T: {Type: AWS::DynamoDB::Table, Properties: {KeySchema: [], AttributeDefinitions: []}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/x/
      Handler: mod.handler
      MemorySize: 1024
      Environment: {Variables: {A: own, C: c}}
      Events:
        Q: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, BatchSize: 5}}
""",
        )
    )

    # When
    (fn,) = functions(template)

    # Then
    assert fn.logical_id == "Fn"
    assert (fn.code_uri, fn.handler, fn.module, fn.function_name) == ("functions/x/", "mod.handler", "mod", "handler")
    assert fn.environment == {"A": "own", "B": {"Ref": "T"}, "C": "c"}
    assert (fn.timeout, fn.memory) == (29, 1024)
    assert fn.events == [("SQS", {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}, "BatchSize": 5})]


def test_every_template_function_names_its_code_and_handler(template: dict[str, Any]) -> None:
    """Given the template's functions
    When they are listed
    Then each names its code, a module.function handler and an environment."""
    for fn in functions(template):
        assert fn.code_uri and "." in fn.handler
        assert fn.environment  # the globals at least


# ---------------------------------------------------------------------------------------------- resolve


def test_resolve_turns_references_into_local_names(template: dict[str, Any]) -> None:
    """Given a context that knows the local table and queue
    When references are resolved
    Then each gives the local value, parameters overriding defaults, pseudo parameters local ones."""
    context = LocalContext(template=template, parameters={"LogLevel": "DEBUG"})
    context.add_table(
        "EventsTable", "arena-events", stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/arena-events/stream/x"
    )
    context.add_queue(
        "TradeQueue",
        url="http://localhost/123/TradeQueue",
        arn="arn:aws:sqs:us-east-1:123456789012:TradeQueue",
        name="TradeQueue",
    )

    # When / Then
    assert resolve({"Ref": "EventsTable"}, context) == "arena-events"
    assert resolve({"Ref": "TradeQueue"}, context) == "http://localhost/123/TradeQueue"
    assert resolve({"Fn::GetAtt": ["TradeQueue", "Arn"]}, context) == "arn:aws:sqs:us-east-1:123456789012:TradeQueue"
    assert resolve({"Fn::GetAtt": ["EventsTable", "StreamArn"]}, context).endswith("/stream/x")
    assert (
        resolve({"Fn::GetAtt": ["EventsTable", "Arn"]}, context)
        == "arn:aws:dynamodb:us-east-1:123456789012:table/arena-events"
    )
    assert resolve({"Ref": "Stage"}, context) == template["Parameters"]["Stage"]["Default"]
    assert resolve({"Ref": "LogLevel"}, context) == "DEBUG"  # the override wins over the default
    assert resolve({"Ref": "AWS::Region"}, context) == "us-east-1"
    assert resolve({"Ref": "AWS::AccountId"}, context) == "123456789012"
    assert resolve({"Ref": "AWS::StackName"}, context) == "arena-local"


def test_resolve_sub_join_and_conditions() -> None:
    """Given a template with a parameter, a condition and a mapping
    When expressions are resolved
    Then they evaluate as CloudFormation would."""
    template = {
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Mappings": {"Sizes": {"dev": {"memory": 256}}},
    }
    context = LocalContext(template=template)
    context.add_table("T", "local-t")

    # When / Then
    assert resolve({"Fn::Sub": "arena-${Stage}-${AWS::Region}"}, context) == "arena-dev-us-east-1"
    assert resolve({"Fn::Sub": "${T.Arn}|${T}|${!Literal}"}, context) == (
        "arn:aws:dynamodb:us-east-1:123456789012:table/local-t|local-t|${Literal}"
    )
    assert resolve({"Fn::Sub": ["${X}-y", {"X": {"Ref": "Stage"}}]}, context) == "dev-y"
    assert resolve({"Fn::Join": ["/", ["a", {"Ref": "T"}]]}, context) == "a/local-t"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, context) == "b"
    assert resolve({"Fn::If": ["IsProd", "big", "small"]}, context) == "small"
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "memory"]}, context) == 256
    assert resolve({"Fn::Base64": "hi"}, context) == "aGk="
    assert resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, context) == ["10.0.0.0/24", "10.0.1.0/24"]
    assert resolve({"A": {"Ref": "AWS::NoValue"}, "B": 1}, context) == {"B": 1}


def test_resolve_never_fails_on_unknown_references() -> None:
    """Given nothing known
    When unknown things are referenced
    Then readable strings come back."""
    context = LocalContext()
    assert resolve({"Ref": "UserPool"}, context) == "UserPool"
    assert resolve({"Fn::GetAtt": ["UserPool", "ProviderURL"]}, context) == "UserPool.ProviderURL"
    assert resolve({"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com"}, context) == (
        "https://Api.execute-api.us-east-1.amazonaws.com"
    )
    assert resolve({"Fn::ImportValue": "shared-vpc"}, context) == "import:shared-vpc"


def test_the_template_environment_resolves_to_plain_values(template: dict[str, Any]) -> None:
    """Given local table names
    When every function's environment is resolved
    Then no intrinsic is left."""
    context = LocalContext(template=template)
    for logical_id in resources_of_type(template, "AWS::DynamoDB::Table"):
        context.add_table(logical_id, f"local-{logical_id}")
    for fn in functions(template):
        for name, value in resolve(fn.environment, context).items():
            assert not isinstance(value, (dict, list)), (fn.logical_id, name, value)
