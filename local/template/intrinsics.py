"""Intrinsic functions (Ref, GetAtt, Sub, If, ...) resolved as far as a single machine needs.

A Ref to a table becomes the local table name, a GetAtt to a queue's Arn the queue's local ARN, and anything this
module cannot know becomes a readable stand-in string rather than an error.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.template.loading import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, DEFAULT_STACK_NAME


class _NoValue:
    """AWS::NoValue: the property it stands in is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass
class LocalContext:
    """What `resolve` knows about the local run.

    refs: {logical_id: value of Ref}; attributes: {(logical_id, attribute): value of GetAtt};
    parameters: overrides of the template's parameter defaults.
    """

    template: Mapping[str, Any] = field(default_factory=dict)
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    stack_name: str = DEFAULT_STACK_NAME
    parameters: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)

    def add_table(self, logical_id: str, name: str, stream_arn: str | None = None) -> None:
        self.refs[logical_id] = name
        self.attributes[(logical_id, "Arn")] = f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{name}"
        if stream_arn:
            self.attributes[(logical_id, "StreamArn")] = stream_arn

    def add_queue(self, logical_id: str, url: str, arn: str, name: str) -> None:
        self.refs[logical_id] = url
        self.attributes[(logical_id, "Arn")] = arn
        self.attributes[(logical_id, "QueueName")] = name
        self.attributes[(logical_id, "QueueUrl")] = url

    def add_function(self, logical_id: str, name: str) -> None:
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
        self.refs[logical_id] = name
        self.attributes[(logical_id, "Arn")] = arn
        # AutoPublishAlias: `!Ref Fn.Alias` / `${Fn.Alias}` is the alias ARN in AWS. Locally there are no versions,
        # so the alias is the function itself.
        self.refs[f"{logical_id}.Alias"] = arn
        self.attributes[(logical_id, "Alias")] = arn


def getatt_parts(value: Any) -> tuple[str, str]:
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return resource, attribute
    return str(value[0]), str(value[1])


def _ref(name: str, context: LocalContext) -> Any:
    pseudo = {
        "AWS::Region": context.region,
        "AWS::AccountId": context.account_id,
        "AWS::StackName": context.stack_name,
        "AWS::StackId": (
            f"arn:aws:cloudformation:{context.region}:{context.account_id}:stack/{context.stack_name}/local"
        ),
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
        "AWS::NoValue": NO_VALUE,
    }
    if name in pseudo:
        return pseudo[name]
    parameters = context.template.get("Parameters") or {}
    parameter = parameters.get(name) or {}
    if name in context.parameters or "Default" in parameter:
        value = context.parameters[name] if name in context.parameters else parameter["Default"]
        if parameter.get("Type") == "CommaDelimitedList" and isinstance(value, str):
            return [item.strip() for item in value.split(",")] if value else []
        return value
    if name in parameters:
        return f"<parameter {name}>"
    if name in context.refs:
        return context.refs[name]
    return name  # a resource this machine does not run: its logical id reads well enough


def _getatt(resource: str, attribute: str, context: LocalContext) -> Any:
    if (resource, attribute) in context.attributes:
        return context.attributes[(resource, attribute)]
    return f"{resource}.{attribute}"


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub(template_string: str, variables: Mapping[str, Any], context: LocalContext) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("!"):  # ${!Literal} is the escape for a literal ${Literal}
            return "${" + name[1:] + "}"
        if name in variables:
            return str(variables[name])
        if "." in name and not name.startswith("AWS::"):
            resource, _, attribute = name.partition(".")
            return str(_getatt(resource, attribute, context))
        return str(_ref(name, context))

    return _SUB_VARIABLE.sub(replace, template_string)


def _condition(name: str, context: LocalContext) -> bool:
    conditions = context.template.get("Conditions") or {}
    if name not in conditions:
        return False
    return bool(resolve(conditions[name], context))


def _cidr(ip_block: str, count: int, cidr_bits: int) -> list[str]:
    network = ipaddress.ip_network(ip_block, strict=False)
    prefix = network.max_prefixlen - int(cidr_bits)
    subnets = network.subnets(new_prefix=prefix)
    return [str(next(subnets)) for _ in range(int(count))]


def resolve(value: Any, context: LocalContext | None = None) -> Any:
    """Resolve the intrinsic functions in `value` for the local run.

    Unknown references become readable strings (the logical id, or "Resource.Attribute"); never an error.
    """
    context = context or LocalContext()
    if isinstance(value, list):
        items = [resolve(item, context) for item in value]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return _ref(str(argument), context)
        if key == "Fn::GetAtt":
            resource, attribute = getatt_parts(resolve(argument, context))
            return _getatt(resource, attribute, context)
        if key == "Fn::Sub":
            if isinstance(argument, list):
                template_string, variables = argument[0], resolve(argument[1], context)
            else:
                template_string, variables = argument, {}
            return _sub(template_string, variables, context)
        if key == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(str(item) for item in resolve(items, context))
        if key == "Fn::Select":
            index, items = resolve(argument, context)
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = argument
            return str(resolve(text, context)).split(delimiter)
        if key == "Fn::If":
            condition, when_true, when_false = argument
            return resolve(when_true if _condition(condition, context) else when_false, context)
        if key == "Fn::Equals":
            left, right = resolve(argument, context)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not resolve(argument[0], context)
        if key == "Fn::And":
            return all(resolve(item, context) for item in argument)
        if key == "Fn::Or":
            return any(resolve(item, context) for item in argument)
        if key == "Condition":
            return _condition(str(argument), context)
        if key == "Fn::FindInMap":
            map_name, top, second = resolve(argument[:3], context)
            try:
                return (context.template.get("Mappings") or {})[map_name][top][second]
            except KeyError:
                if len(argument) > 3 and isinstance(argument[3], Mapping) and "DefaultValue" in argument[3]:
                    return resolve(argument[3]["DefaultValue"], context)
                return f"{map_name}.{top}.{second}"
        if key == "Fn::ImportValue":
            return f"import:{resolve(argument, context)}"
        if key == "Fn::Base64":
            return base64.b64encode(str(resolve(argument, context)).encode()).decode()
        if key == "Fn::GetAZs":
            region = resolve(argument, context) or context.region
            return [f"{region}{zone}" for zone in "abc"]
        if key == "Fn::Cidr":
            return _cidr(*resolve(argument, context))
        if key == "Fn::Length":
            return len(resolve(argument, context))
        if key == "Fn::ToJsonString":
            return json.dumps(resolve(argument, context), separators=(",", ":"))
    resolved = {key: resolve(item, context) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def environment_string(value: Any) -> str:
    """How CloudFormation renders a resolved environment value (numbers and booleans as text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)
