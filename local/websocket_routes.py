"""The template's WebSocket APIs (AWS::ApiGatewayV2::Api, ProtocolType WEBSOCKET): their stage, route selection
expression and routes, each resolved to the function its Lambda integration runs."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local import template as tpl

logger = logging.getLogger("local.websocket")

API_TYPE = "AWS::ApiGatewayV2::Api"
ROUTE_TYPE = "AWS::ApiGatewayV2::Route"
INTEGRATION_TYPE = "AWS::ApiGatewayV2::Integration"
STAGE_TYPE = "AWS::ApiGatewayV2::Stage"
_FUNCTION_ARN = re.compile(r"\$\{(\w+)\.(?:Arn|Alias)\}")


@dataclass(frozen=True)
class WebSocketRoute:
    route_key: str
    function_id: str
    two_way: bool  # a route response is configured: the function's body goes back to the client


@dataclass
class WebSocketApiSpec:
    api_id: str
    stage: str
    selection_expression: str
    routes: dict[str, WebSocketRoute] = field(default_factory=dict)


def websocket_apis(template: Mapping[str, Any], context: tpl.LocalContext) -> list[WebSocketApiSpec]:
    """The template's WebSocket APIs with their routes resolved to function logical ids."""
    apis = {
        api_id: WebSocketApiSpec(api_id, "$default", str(props.get("RouteSelectionExpression", "")))
        for api_id, props in tpl.resources_of_type(template, API_TYPE).items()
        if props.get("ProtocolType") == "WEBSOCKET"
    }
    integrations: dict[str, str] = {}
    for integration_id, props in tpl.resources_of_type(template, INTEGRATION_TYPE).items():
        uri = props.get("IntegrationUri")
        text = uri.get("Fn::Sub") if isinstance(uri, dict) else uri
        variables = text[1] if isinstance(text, list) and len(text) > 1 and isinstance(text[1], dict) else {}
        text = text[0] if isinstance(text, list) else text
        match = _FUNCTION_ARN.search(text or "") if isinstance(text, str) else None
        if match:
            integrations[integration_id] = match.group(1)
            continue
        # !Sub [".../functions/${Fn}/invocations", {Fn: !Ref SomeFunction.Alias}]: the alias is the function here.
        for name, value in variables.items():
            ref = value.get("Ref") if isinstance(value, dict) else None
            if isinstance(ref, str) and isinstance(text, str) and "${" + name + "}" in text:
                integrations[integration_id] = ref.partition(".")[0]
    for props in tpl.resources_of_type(template, STAGE_TYPE).values():
        api_id = (props.get("ApiId") or {}).get("Ref") if isinstance(props.get("ApiId"), dict) else None
        if api_id in apis:
            apis[api_id].stage = str(tpl.resolve(props.get("StageName"), context))
    for route_id, props in tpl.resources_of_type(template, ROUTE_TYPE).items():
        api_id = (props.get("ApiId") or {}).get("Ref") if isinstance(props.get("ApiId"), dict) else None
        target = props.get("Target")
        target = target.get("Fn::Sub") if isinstance(target, dict) else target
        integration = re.search(r"integrations/\$\{(\w+)\}", target or "") if isinstance(target, str) else None
        if api_id not in apis or integration is None or integration.group(1) not in integrations:
            logger.warning("WebSocket route %s has no Lambda integration this stack can run; skipped", route_id)
            continue
        key = str(props["RouteKey"])
        apis[api_id].routes[key] = WebSocketRoute(
            key, integrations[integration.group(1)], bool(props.get("RouteResponseSelectionExpression"))
        )
    return list(apis.values())
