"""Reading template.yaml: CloudFormation's short tags as their long forms, nested stacks flattened into one view,
and the resources of one type.

One reader for the SAM template, so the local run, the tools and every test build from the file that is deployed
and cannot drift from it. A nested stack (`AWS::Serverless::Application` with a local `Location`) is read as part of
its parent: `load_template` returns the parent's resources and every child's, in the parent's terms (a child's
`!Ref <Parameter>` is the expression the parent passes, a parent's `!GetAtt <App>.Outputs.<Name>` the child's
output), so the rest of `local.template` never needs to know that stacks are split.
"""

from __future__ import annotations

import os
import re
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
APPLICATION_TYPE = "AWS::Serverless::Application"

# Where a flattened template records its children: {application id: NestedStack as a dict}.
NESTED_STACKS_KEY = "NestedStacks"
# The properties that name a local path, relative to their template (sam build resolves them so).
_PATH_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")

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


class NestedStackError(ValueError):
    """A nested stack the flattened view cannot hold (a logical id twice, a parameter without a value...)."""


def _read_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict):
        raise ValueError(f"{path} is not a CloudFormation template (top level is not a mapping)")
    return template


def load_template(path: str | Path = "template.yaml") -> dict[str, Any]:
    """Load a SAM/CloudFormation template, its local nested stacks flattened in; a relative path is taken from the
    repository root.

    The result is one template: the parent's sections plus every child's resources (logical ids unique across
    stacks), conditions and mappings, written in the parent's terms. Each child function keeps its own stack's
    Globals (`stack_globals`); `template["NestedStacks"]` says which resources came from which child.
    """
    path = Path(path)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return _flatten(_read_yaml(path), path)


def load_stack_templates(path: str | Path = "template.yaml") -> dict[str, Path]:
    """{stack: template path} of a template and every local nested stack under it: the parent first as "", each
    child under its application's logical id.

    What deploys as separate stacks (each counted against CloudFormation's limits on its own).
    """
    path = Path(path)
    if not path.is_absolute():
        path = REPO_ROOT / path
    stacks = {"": path}
    for app_id, child_path in _local_applications(_read_yaml(path), path).items():
        for name, nested in load_stack_templates(child_path).items():
            stacks[name or app_id] = nested  # logical ids, application ids included, are unique across stacks
    return stacks


def _local_applications(template: Mapping[str, Any], path: Path) -> dict[str, Path]:
    """{application logical id: child template path} of the applications whose Location is a local file."""
    found = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != APPLICATION_TYPE:
            continue
        location = (resource.get("Properties") or {}).get("Location")
        if isinstance(location, str) and not re.match(r"^[a-z0-9]+://", location):
            found[logical_id] = (path.parent / location).resolve()
    return found


def stack_globals(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """The Globals that apply to one resource of a flattened template: its own stack's (SAM merges per template)."""
    for stack in (template.get(NESTED_STACKS_KEY) or {}).values():
        if logical_id in stack["Resources"]:
            return dict(stack.get("Globals") or {})
    return dict(template.get("Globals") or {})


def _flatten(template: dict[str, Any], path: Path) -> dict[str, Any]:
    applications = _local_applications(template, path)
    if not applications:
        return template
    resources = dict(template.get("Resources") or {})
    conditions = dict(template.get("Conditions") or {})
    mappings = dict(template.get("Mappings") or {})
    nested: dict[str, Any] = dict(template.get(NESTED_STACKS_KEY) or {})
    outputs: dict[str, dict[str, Any]] = {}
    owner = dict.fromkeys(resources, path.name)
    for app_id, child_path in applications.items():
        application = resources.pop(app_id)
        del owner[app_id]
        if not child_path.is_file():
            raise NestedStackError(f"{path.name}: {app_id}'s Location {child_path} is not a file")
        child = load_template(child_path)
        passed = dict((application.get("Properties") or {}).get("Parameters") or {})
        values = _child_parameter_values(child, passed, app_id, child_path)
        child = _in_parent_terms(child, values)
        rebase = os.path.relpath(child_path.parent, path.parent)
        child_resources = {
            logical_id: _rebased(resource, rebase) for logical_id, resource in (child.get("Resources") or {}).items()
        }
        for logical_id in child_resources:
            if logical_id in owner:
                raise NestedStackError(
                    f"logical id {logical_id} is in both {owner[logical_id]} and {child_path.name} ({app_id}):"
                    " logical ids must be unique across stacks (the local stack runs them as one)"
                )
            owner[logical_id] = f"{child_path.name} ({app_id})"
        resources.update(child_resources)
        _merge_named(conditions, child.get("Conditions") or {}, "condition", app_id)
        _merge_named(mappings, child.get("Mappings") or {}, "mapping", app_id)
        outputs[app_id] = {name: output.get("Value") for name, output in (child.get("Outputs") or {}).items()}
        for grandchild_id, grandchild in (child.get(NESTED_STACKS_KEY) or {}).items():
            nested[grandchild_id] = {**grandchild, "Location": os.path.join(rebase, grandchild["Location"])}
        own = [logical_id for logical_id in child_resources if not _owned_by_nested(child, logical_id)]
        nested[app_id] = {
            "Location": os.path.relpath(child_path, path.parent),
            "Resources": own,
            "Globals": child.get("Globals") or {},
            "Outputs": outputs[app_id],
        }
    flat = {**template, "Resources": resources, NESTED_STACKS_KEY: nested}
    if conditions:
        flat["Conditions"] = conditions
    if mappings:
        flat["Mappings"] = mappings
    return _with_outputs(flat, outputs)


def _owned_by_nested(template: Mapping[str, Any], logical_id: str) -> bool:
    return any(logical_id in stack["Resources"] for stack in (template.get(NESTED_STACKS_KEY) or {}).values())


def _child_parameter_values(
    child: Mapping[str, Any], passed: Mapping[str, Any], app_id: str, child_path: Path
) -> dict[str, Any]:
    """{child parameter: the parent's expression for it (or the child's default)}."""
    declared = child.get("Parameters") or {}
    unknown = sorted(set(passed) - set(declared))
    if unknown:
        raise NestedStackError(f"{app_id} passes {', '.join(unknown)}, which {child_path.name} does not declare")
    values = {}
    for name, parameter in declared.items():
        if name in passed:
            values[name] = passed[name]
        elif "Default" in (parameter or {}):
            values[name] = parameter["Default"]
        else:
            raise NestedStackError(
                f"{child_path.name} needs parameter {name}: {app_id} passes none, nor has it a Default"
            )
    return values


def _merge_named(into: dict[str, Any], incoming: Mapping[str, Any], kind: str, app_id: str) -> None:
    for name, value in incoming.items():
        if name in into and into[name] != value:
            raise NestedStackError(f"{kind} {name} of {app_id} differs from the parent's: rename one of them")
        into[name] = value


_SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")


def _substitute(value: Any, refs: Mapping[str, Any], getatts: Mapping[tuple[str, str], Any]) -> Any:
    """`value` with `Ref <name>` replaced by refs[name] and `GetAtt [resource, attribute]` by getatts[...], also
    inside Fn::Sub strings (a replaced ${name} becomes the Ref or GetAtt it stands for, or a Sub variable)."""
    if isinstance(value, list):
        return [_substitute(item, refs, getatts) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str) and argument in refs:
            return refs[argument]
        if key == "Fn::GetAtt":
            parts = argument.partition(".")[::2] if isinstance(argument, str) else argument
            if isinstance(parts, (list, tuple)) and len(parts) == 2 and tuple(parts) in getatts:
                return getatts[(parts[0], parts[1])]
        if key == "Fn::Sub":
            return _substitute_sub(argument, refs, getatts)
    return {key: _substitute(item, refs, getatts) for key, item in value.items()}


def _substitute_sub(argument: Any, refs: Mapping[str, Any], getatts: Mapping[tuple[str, str], Any]) -> dict[str, Any]:
    text, variables = (argument[0], dict(argument[1])) if isinstance(argument, list) else (argument, {})
    variables = {name: _substitute(item, refs, getatts) for name, item in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in variables:
            return match.group(0)
        resource, _, attribute = name.partition(".")
        if attribute and (resource, attribute) in getatts:
            expression = getatts[(resource, attribute)]
        elif not attribute and name in refs:
            expression = refs[name]
        else:
            return match.group(0)
        if isinstance(expression, dict) and list(expression) == ["Ref"]:
            return "${" + str(expression["Ref"]) + "}"
        if isinstance(expression, dict) and list(expression) == ["Fn::GetAtt"]:
            target = expression["Fn::GetAtt"]
            return "${" + (target if isinstance(target, str) else ".".join(map(str, target))) + "}"
        if not isinstance(expression, (dict, list)):
            return str(expression).replace("${", "${!")
        variable = re.sub(r"\W", "", name)
        variables[variable] = expression
        return "${" + variable + "}"

    text = _SUB_NAME.sub(replace, text)
    return {"Fn::Sub": [text, variables] if variables else text}


def _in_parent_terms(child: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The child with each `!Ref <Parameter>` (and ${Parameter}) replaced by what the parent passes."""
    translated = {key: section for key, section in child.items() if key not in ("Parameters", "Rules")}
    return _substitute(translated, values, {})


def _with_outputs(template: dict[str, Any], outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The parent with each `!GetAtt <App>.Outputs.<Name>` replaced by that child's output expression."""
    getatts = {
        (app_id, f"Outputs.{name}"): value for app_id, values in outputs.items() for name, value in values.items()
    }
    kept = {key: section for key, section in template.items() if key != NESTED_STACKS_KEY}
    flat = _substitute(kept, {}, getatts)
    flat[NESTED_STACKS_KEY] = template[NESTED_STACKS_KEY]
    return flat


def _rebased(resource: Any, rebase: str) -> Any:
    """A child resource whose local paths are taken from the parent's folder, as they are from the child's."""
    if not isinstance(resource, dict) or rebase in ("", "."):
        return resource
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        return resource
    moved = dict(properties)
    for key in _PATH_PROPERTIES:
        value = moved.get(key)
        if isinstance(value, str) and not re.match(r"^[a-z0-9]+://", value):
            joined = os.path.normpath(os.path.join(rebase, value))
            moved[key] = joined + "/" if value.endswith("/") else joined
    return {**resource, "Properties": moved}


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """{logical_id: Properties} of every resource of one type, in template order."""
    return {
        logical_id: dict(resource.get("Properties") or {})
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }
