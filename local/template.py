"""Read template.yaml the way the local stack (and the tests) need it.

One reader for the SAM template, so the local run and every test build their tables, queues, routes and
environment from the file that is deployed, and cannot drift from it.

Intrinsic functions are resolved only as far as a single machine needs: a Ref to a table becomes the local
table name, a GetAtt to a queue's Arn the queue's local ARN, and anything this module cannot know becomes a
readable stand-in string rather than an error.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_STACK_NAME = "arena-local"

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
FUNCTION_TYPE = "AWS::Serverless::Function"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"

# SAM names the API it creates for HttpApi events without an ApiId.
IMPLICIT_HTTP_API = "ServerlessHttpApi"


# ---------------------------------------------------------------------------------------------- loading


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


# ---------------------------------------------------------------------------------------------- tables

# The Properties of AWS::DynamoDB::Table that create_table takes with the same shape. The rest
# (PointInTimeRecoverySpecification, SSESpecification, TimeToLiveSpecification, Tags, ...) are either
# separate API calls or differently shaped, and do not matter to a local run.
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection")


def _index_kwargs(index: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    kwargs = {key: index[key] for key in _INDEX_KEYS if key in index}
    if provisioned and "ProvisionedThroughput" in index:
        kwargs["ProvisionedThroughput"] = index["ProvisionedThroughput"]
    return kwargs


def table_definitions(template: Mapping[str, Any], names: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """boto3 `create_table` kwargs for every AWS::DynamoDB::Table, keyed by logical id.

    The table is named after its logical id unless `names` maps the logical id to another name.
    """
    names = names or {}
    definitions: dict[str, dict[str, Any]] = {}
    for logical_id, props in resources_of_type(template, TABLE_TYPE).items():
        billing_mode = props.get("BillingMode", "PROVISIONED")
        provisioned = billing_mode == "PROVISIONED"
        kwargs: dict[str, Any] = {
            "TableName": names.get(logical_id, logical_id),
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": billing_mode,
        }
        if provisioned:
            kwargs["ProvisionedThroughput"] = props.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = [
                _index_kwargs(index, provisioned) for index in props["GlobalSecondaryIndexes"]
            ]
        if props.get("LocalSecondaryIndexes"):
            kwargs["LocalSecondaryIndexes"] = [
                _index_kwargs(index, provisioned=False) for index in props["LocalSecondaryIndexes"]
            ]
        stream = props.get("StreamSpecification")
        if stream and stream.get("StreamViewType"):
            # CloudFormation has no StreamEnabled; the API needs it.
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        definitions[logical_id] = kwargs
    return definitions


def ttl_attributes(template: Mapping[str, Any]) -> dict[str, str]:
    """{logical_id: TTL attribute name} for tables whose TimeToLiveSpecification is enabled."""
    result = {}
    for logical_id, props in resources_of_type(template, TABLE_TYPE).items():
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") and ttl.get("AttributeName"):
            result[logical_id] = ttl["AttributeName"]
    return result


def create_tables(
    dynamodb_client: Any,
    template: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
    *,
    exist_ok: bool = False,
) -> dict[str, str]:
    """Create every table of the template (and turn its TTL on); returns {logical_id: table_name}.

    With exist_ok, a table that already exists is left as it is (for engines that keep data between runs).
    """
    ttl = ttl_attributes(template)
    created: dict[str, str] = {}
    for logical_id, kwargs in table_definitions(template, names).items():
        table_name = kwargs["TableName"]
        try:
            dynamodb_client.create_table(**kwargs)
        except dynamodb_client.exceptions.ResourceInUseException:
            if not exist_ok:
                raise
        else:
            dynamodb_client.get_waiter("table_exists").wait(
                TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
            if logical_id in ttl:
                dynamodb_client.update_time_to_live(
                    TableName=table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[logical_id]},
                )
        created[logical_id] = table_name
    return created


# ---------------------------------------------------------------------------------------------- queues

# CloudFormation property -> SQS attribute name. SqsManagedSseEnabled, KmsMasterKeyId and Tags are dropped:
# encryption at rest means nothing on one machine.
_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "VisibilityTimeout",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "FifoQueue": "FifoQueue",
    "ContentBasedDeduplication": "ContentBasedDeduplication",
    "DeduplicationScope": "DeduplicationScope",
    "FifoThroughputLimit": "FifoThroughputLimit",
}


def _attribute_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def queue_definitions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{logical_id: {"QueueName", "Attributes", "RedrivePolicy"}} for every AWS::SQS::Queue.

    The RedrivePolicy is left unresolved (its deadLetterTargetArn is usually a GetAtt of another queue);
    create_queues resolves it once that queue exists.
    """
    definitions = {}
    for logical_id, props in resources_of_type(template, QUEUE_TYPE).items():
        fifo = bool(props.get("FifoQueue"))
        name = logical_id + (".fifo" if fifo else "")
        attributes = {
            attribute: _attribute_string(props[prop]) for prop, attribute in _QUEUE_ATTRIBUTES.items() if prop in props
        }
        definitions[logical_id] = {
            "QueueName": name,
            "Attributes": attributes,
            "RedrivePolicy": props.get("RedrivePolicy"),
        }
    return definitions


def _redrive_target(policy: Any) -> str | None:
    """The logical id a RedrivePolicy points at, when it is a GetAtt/Ref to a queue of the template."""
    if not isinstance(policy, Mapping):
        return None
    target = policy.get("deadLetterTargetArn")
    if isinstance(target, Mapping):
        if "Fn::GetAtt" in target:
            return _getatt_parts(target["Fn::GetAtt"])[0]
        if "Ref" in target:
            return target["Ref"]
    return None


def create_queues(
    sqs_client: Any,
    template: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
    context: LocalContext | None = None,
) -> dict[str, dict[str, str]]:
    """Create every queue, dead-letter queues first; returns {logical_id: {"url", "arn", "name"}}."""
    names = names or {}
    definitions = queue_definitions(template)
    context = context or LocalContext(template=template)
    created: dict[str, dict[str, str]] = {}
    pending = dict(definitions)
    while pending:
        progressed = False
        for logical_id, definition in list(pending.items()):
            target = _redrive_target(definition["RedrivePolicy"])
            if target in pending and target != logical_id:
                continue  # its dead-letter queue first
            attributes = dict(definition["Attributes"])
            if definition["RedrivePolicy"]:
                policy = resolve(definition["RedrivePolicy"], context)
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": policy["deadLetterTargetArn"],
                        "maxReceiveCount": int(policy["maxReceiveCount"]),
                    }
                )
            name = names.get(logical_id, definition["QueueName"])
            url = sqs_client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            created[logical_id] = {"url": url, "arn": arn, "name": name}
            context.add_queue(logical_id, url=url, arn=arn, name=name)
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise ValueError(f"queues whose redrive policies form a cycle: {sorted(pending)}")
    return created


# ---------------------------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Serverless::Function with Globals.Function applied. Values are unresolved intrinsics."""

    logical_id: str
    code_uri: str
    handler: str
    environment: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    timeout: int
    memory: int
    runtime: str | None = None
    event_names: list[str] = field(default_factory=list)

    @property
    def module(self) -> str:
        """The handler's module path, "create_event" for "create_event.lambda_handler"."""
        return self.handler.rpartition(".")[0]

    @property
    def function_name(self) -> str:
        return self.handler.rpartition(".")[2]


def functions(template: Mapping[str, Any]) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function, with Globals.Function merged in the way SAM merges it."""
    globals_ = ((template.get("Globals") or {}).get("Function")) or {}
    global_env = ((globals_.get("Environment") or {}).get("Variables")) or {}
    specs = []
    for logical_id, props in resources_of_type(template, FUNCTION_TYPE).items():
        own_env = ((props.get("Environment") or {}).get("Variables")) or {}
        events = props.get("Events") or {}
        code_uri = props.get("CodeUri", globals_.get("CodeUri", "."))
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=code_uri if isinstance(code_uri, str) else str(code_uri),
                handler=props.get("Handler", globals_.get("Handler", "")),
                environment={**global_env, **own_env},
                events=[(event.get("Type", ""), dict(event.get("Properties") or {})) for event in events.values()],
                event_names=list(events),
                timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
                memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                runtime=props.get("Runtime", globals_.get("Runtime")),
            )
        )
    return specs


def layer_python_dirs(template: Mapping[str, Any], base_dir: Path) -> list[Path]:
    """The folder of each layer that Lambda puts on the import path (/opt/python), as this template ships it.

    A layer SAM builds with a python BuildMethod has its ContentUri copied *into* python/, so in a source template
    that folder is the ContentUri itself; a built template (sam build marks every resource with SamResourceId)
    points at the build output, which holds python/ as Lambda mounts it.
    """
    dirs = []
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::LayerVersion":
            continue
        content_uri = (resource.get("Properties") or {}).get("ContentUri")
        if not isinstance(content_uri, str):
            continue
        metadata = resource.get("Metadata") or {}
        sam_builds_it = str(metadata.get("BuildMethod", "")).startswith("python") and "SamResourceId" not in metadata
        folder = (base_dir / content_uri).resolve()
        dirs.append(folder if sam_builds_it else folder / "python")
    return dirs


# ---------------------------------------------------------------------------------------------- HTTP API


class HttpRoute(NamedTuple):
    """One route of an HTTP API: ("GET", "/api/events/{eventId}", "GetEventFunction", True)."""

    method: str
    path: str
    function_id: str
    auth_required: bool

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class HttpRouteSpec:
    """An HttpApi event with everything the local API gateway needs to serve it."""

    route: HttpRoute
    api_id: str
    authorizer: str | None
    authorization_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpApiSettings:
    logical_id: str
    throttling_burst_limit: int | None
    throttling_rate_limit: float | None
    route_throttling: dict[str, tuple[int | None, float | None]]
    cors: dict[str, Any] | None
    default_authorizer: str | None
    authorizers: dict[str, Any]


def http_apis(template: Mapping[str, Any]) -> dict[str, HttpApiSettings]:
    """Settings of every AWS::Serverless::HttpApi (and of SAM's implicit one when an event needs it)."""
    apis = {}
    globals_api = ((template.get("Globals") or {}).get("HttpApi")) or {}
    declared = resources_of_type(template, HTTP_API_TYPE)
    if IMPLICIT_HTTP_API not in declared:
        declared[IMPLICIT_HTTP_API] = {}
    # Throttling and CORS may come from parameters (per stage): their defaults are what runs locally.
    context = LocalContext(template=template)
    for logical_id, own in declared.items():
        props = {**globals_api, **own}
        defaults = resolve(props.get("DefaultRouteSettings") or {}, context)
        auth = props.get("Auth") or {}
        route_throttling = {
            route_key: (settings.get("ThrottlingBurstLimit"), settings.get("ThrottlingRateLimit"))
            for route_key, settings in resolve(props.get("RouteSettings") or {}, context).items()
        }
        cors = resolve(props.get("CorsConfiguration"), context)
        if cors is NO_VALUE:
            cors = None
        if cors is True:  # SAM's shorthand: allow everything
            cors = {"AllowOrigins": ["*"], "AllowHeaders": ["*"], "AllowMethods": ["*"]}
        apis[logical_id] = HttpApiSettings(
            logical_id=logical_id,
            throttling_burst_limit=defaults.get("ThrottlingBurstLimit"),
            throttling_rate_limit=defaults.get("ThrottlingRateLimit"),
            route_throttling=route_throttling,
            cors=cors or None,
            default_authorizer=auth.get("DefaultAuthorizer"),
            authorizers=dict(auth.get("Authorizers") or {}),
        )
    return apis


def http_route_specs(template: Mapping[str, Any]) -> list[HttpRouteSpec]:
    """Every HttpApi event of every function, with its API, authorizer and scopes."""
    apis = http_apis(template)
    specs = []
    for function in functions(template):
        for event_type, props in function.events:
            if event_type != "HttpApi":
                continue
            api_ref = props.get("ApiId")
            api_id = api_ref["Ref"] if isinstance(api_ref, Mapping) and "Ref" in api_ref else IMPLICIT_HTTP_API
            api = apis.get(api_id) or apis[IMPLICIT_HTTP_API]
            auth = props.get("Auth") or {}
            authorizer = auth.get("Authorizer", api.default_authorizer)
            if authorizer == "NONE":
                authorizer = None
            path = props.get("Path")
            method = str(props.get("Method", "ANY")).upper()
            if path is None:  # no Path: SAM makes it the $default route
                path, method = "$default", "ANY"
            specs.append(
                HttpRouteSpec(
                    route=HttpRoute(method, path, function.logical_id, authorizer is not None),
                    api_id=api_id,
                    authorizer=authorizer,
                    authorization_scopes=tuple(auth.get("AuthorizationScopes") or ()),
                )
            )
    return specs


def http_routes(template: Mapping[str, Any]) -> list[HttpRoute]:
    """(METHOD, path template, function logical id, auth required) for every HttpApi event."""
    return [spec.route for spec in http_route_specs(template)]


def route_throttling(template: Mapping[str, Any]) -> dict[str, tuple[int | None, float | None]]:
    """{route key: (burst limit, rate limit)} for every HTTP route, from DefaultRouteSettings and RouteSettings."""
    apis = http_apis(template)
    result = {}
    for spec in http_route_specs(template):
        api = apis[spec.api_id] if spec.api_id in apis else apis[IMPLICIT_HTTP_API]
        burst, rate = api.throttling_burst_limit, api.throttling_rate_limit
        override = api.route_throttling.get(spec.route.route_key)
        if override:
            burst = override[0] if override[0] is not None else burst
            rate = override[1] if override[1] is not None else rate
        result[spec.route.route_key] = (burst, rate)
    return result


# ---------------------------------------------------------------------------------------------- intrinsics


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


def _getatt_parts(value: Any) -> tuple[str, str]:
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
            resource, attribute = _getatt_parts(resolve(argument, context))
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


def iter_event_sources(
    template: Mapping[str, Any], event_types: Iterable[str]
) -> Iterable[tuple[FunctionSpec, str, dict[str, Any]]]:
    """(function, event type, properties) for each event of the given types."""
    wanted = set(event_types)
    for function in functions(template):
        for event_type, props in function.events:
            if event_type in wanted:
                yield function, event_type, props
