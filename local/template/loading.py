"""Reading template.yaml: CloudFormation's short tags as their long forms, and the resources of one type.

One reader for the SAM template, so the local run, the tools and every test build from the file that is deployed
and cannot drift from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_STACK_NAME = "arena-local"

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
FUNCTION_TYPE = "AWS::Serverless::Function"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"

# SAM names the API it creates for HttpApi events without an ApiId.
IMPLICIT_HTTP_API = "ServerlessHttpApi"


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short tags as their long forms.

    Timestamps stay strings: CloudFormation does not turn "2010-09-09" into a date, and neither should we.
    """


# Drop YAML 1.1 timestamp resolution for this loader only (the dict is copied, SafeLoader is untouched).
CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_any(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _long_form(name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {name: _construct_any(loader, node)}

    return construct


def _construct_getatt(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_any(loader, node)
    if isinstance(value, str):
        # "Resource.Attribute"; attribute names may themselves contain dots (Endpoint.Address).
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


CloudFormationLoader.add_constructor("!Ref", _long_form("Ref"))
CloudFormationLoader.add_constructor("!Condition", _long_form("Condition"))
CloudFormationLoader.add_constructor("!GetAtt", _construct_getatt)
for _tag in (
    "Sub",
    "Join",
    "If",
    "Select",
    "Split",
    "FindInMap",
    "ImportValue",
    "Equals",
    "Not",
    "And",
    "Or",
    "Base64",
    "GetAZs",
    "Cidr",
    "Length",
    "ToJsonString",
    "Transform",
    # Rules-only functions (read, never evaluated: Rules constrain deploys, not the local run).
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "RefAll",
    "ValueOf",
    "ValueOfAll",
):
    CloudFormationLoader.add_constructor(f"!{_tag}", _long_form(f"Fn::{_tag}"))


def load_template(path: str | Path = "template.yaml") -> dict[str, Any]:
    """Load a SAM/CloudFormation template; a relative path is taken from the repository root."""
    path = Path(path)
    if not path.is_absolute():
        path = REPO_ROOT / path
    with path.open(encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict):
        raise ValueError(f"{path} is not a CloudFormation template (top level is not a mapping)")
    return template


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """{logical_id: Properties} of every resource of one type, in template order."""
    return {
        logical_id: dict(resource.get("Properties") or {})
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }
