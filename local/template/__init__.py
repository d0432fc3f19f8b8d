"""Read template.yaml the way the local stack, the tools and the tests need it.

One reader for the SAM template, so the local run and every test build their tables, queues, routes and
environment from the file that is deployed, and cannot drift from it. By role: `loading` (the YAML, nested stacks
flattened in, and its resources), `intrinsics` (Ref, GetAtt, Sub... resolved for one machine), `resources`
(tables and queues created), `function_specs` (functions, layers, event sources), `http_api` (HTTP APIs and
routes). Import from here.
"""

from local.template.function_specs import (
    FunctionSpec,
    function_layer_dirs,
    functions,
    iter_event_sources,
    layer_python_dirs,
)
from local.template.http_api import (
    HttpApiSettings,
    HttpRoute,
    HttpRouteSpec,
    http_apis,
    http_route_specs,
    http_routes,
    route_throttling,
)
from local.template.intrinsics import NO_VALUE, LocalContext, environment_string, resolve
from local.template.loading import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    FUNCTION_TYPE,
    HTTP_API_TYPE,
    IMPLICIT_HTTP_API,
    NESTED_STACKS_KEY,
    QUEUE_TYPE,
    REPO_ROOT,
    TABLE_TYPE,
    CloudFormationLoader,
    NestedStackError,
    load_stack_templates,
    load_template,
    resources_of_type,
    stack_globals,
)
from local.template.resources import (
    create_buckets,
    create_delivery_streams,
    create_queues,
    create_tables,
    name_glue_resources,
    queue_definitions,
    table_definitions,
    ttl_attributes,
)

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "DEFAULT_STACK_NAME",
    "FUNCTION_TYPE",
    "HTTP_API_TYPE",
    "IMPLICIT_HTTP_API",
    "NESTED_STACKS_KEY",
    "NO_VALUE",
    "QUEUE_TYPE",
    "REPO_ROOT",
    "TABLE_TYPE",
    "CloudFormationLoader",
    "FunctionSpec",
    "HttpApiSettings",
    "HttpRoute",
    "HttpRouteSpec",
    "LocalContext",
    "NestedStackError",
    "create_buckets",
    "create_delivery_streams",
    "create_queues",
    "create_tables",
    "environment_string",
    "function_layer_dirs",
    "functions",
    "http_apis",
    "http_route_specs",
    "http_routes",
    "iter_event_sources",
    "layer_python_dirs",
    "load_stack_templates",
    "load_template",
    "name_glue_resources",
    "queue_definitions",
    "resolve",
    "resources_of_type",
    "route_throttling",
    "stack_globals",
    "table_definitions",
    "ttl_attributes",
]
