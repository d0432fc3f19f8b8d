"""docs/openapi.json tells the truth: every operation documents its success body and every error it can answer, in
the one error shape (API Gateway's own `{"message"}` answers beside it where the gateway answers), with short,
unique operationIds, servers and the security scheme. `make openapi-check` keeps the file equal to what the
handlers generate; this checks what the file says."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from local.template import REPO_ROOT, http_route_specs, load_template

DOCUMENT = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
ERROR_REF = "#/components/schemas/ErrorBody"
GATEWAY_REF = "#/components/schemas/GatewayMessage"
GATEWAY_STATUSES = {"401", "404", "429"}  # the authorizer, an unmatched path, the stage throttle
DOCS_PAGE_FUNCTION = "ApiDocsFunction"  # serves this document; not part of it
MAX_OPERATION_ID = 32


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


OPERATIONS = list(_operations())
IDS = [f"{method.upper()} {path}" for method, path, _ in OPERATIONS]


@cache
def _template_routes() -> dict[tuple[str, str], bool]:
    """(method, path) -> behind the JWT authorizer, for every HTTP route of template.yaml but the docs page's."""
    return {
        (spec.route.method.lower(), spec.route.path): spec.authorizer is not None
        for spec in http_route_specs(load_template())
        if spec.route.function_id != DOCS_PAGE_FUNCTION
    }


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = DOCUMENT
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _schema(response: dict[str, Any]) -> dict[str, Any]:
    return response.get("content", {}).get("application/json", {}).get("schema", {})


def test_the_document_has_every_route_of_the_template_and_no_other() -> None:
    """Given the template's HTTP routes and the document's operations
    When they are compared
    Then they are the same set: a new route cannot be left out of the document."""
    routes = _template_routes()

    # Then
    assert {(method, path) for method, path, _ in OPERATIONS} == set(routes)


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_documents_a_success_body_with_a_schema(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    """Given an operation's success responses
    When their schemas are read
    Then there is at least one, and each names a schema that exists (a 204 has no body, so it documents none; a
    page or an image names its media type)."""
    # Given the operation's success responses
    successes = {status: response for status, response in operation["responses"].items() if status.startswith("2")}

    # Then there is at least one, and each names a schema that exists (what a contract test checks bodies against)
    assert successes, f"{method.upper()} {path} documents no 2xx"
    for status, response in successes.items():
        if status == "204":
            assert not response.get("content"), f"{method.upper()} {path} 204 documents a body"
            continue
        if response.get("content") and "application/json" not in response["content"]:
            continue  # a page or an image (the public share pages and cards): its media type is the contract
        schema = _schema(response)
        assert schema, f"{method.upper()} {path} {status} has no schema"
        if "$ref" in schema:
            assert _resolve(schema["$ref"]).get("properties"), schema["$ref"]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_error_is_in_the_one_error_shape(method: str, path: str, operation: dict[str, Any]) -> None:
    """Given an operation's error responses
    When their schemas are read
    Then each is the error shape; where API Gateway itself answers, also its {"message"} body."""
    for status, response in operation["responses"].items():
        if int(status) < 400:
            continue
        schema = _schema(response)
        # Then an error is the error shape; where API Gateway itself answers, also its {"message"} body
        if status in GATEWAY_STATUSES:
            assert schema == {"oneOf": [{"$ref": ERROR_REF}, {"$ref": GATEWAY_REF}]}, f"{status} {path}"
        else:
            assert schema == {"$ref": ERROR_REF}, f"{method.upper()} {path} {status}"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_lists_the_errors_its_inputs_and_the_gateway_can_cause(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    """Given an operation, its inputs and whether the authorizer guards it
    When its documented statuses are read
    Then they list 400/422 for a body, 422 for parameters, 401 or no security, 404 for a path id, and 429 with Retry-
    After."""
    statuses = set(operation["responses"])
    authenticated = _template_routes()[(method, path)]

    # Then a body means 400 (unreadable) and 422 (invalid); any parameter means 422
    if "requestBody" in operation:
        assert {"400", "422"} <= statuses
    if operation.get("parameters"):
        assert "422" in statuses
    # And a route behind the authorizer answers 401, a public one says it needs no token
    if authenticated:
        assert "401" in statuses
        assert "security" not in operation  # the document's default: the bearer token
    else:
        assert operation["security"] == []
    # And an id in the path may name nothing (404); every route is throttled (429, with when to retry)
    if "{" in path:
        assert "404" in statuses
    assert "429" in statuses
    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_no_operation_documents_powertools_own_validation_shape() -> None:
    """Given the whole document as text
    When it is searched for Powertools' validation body
    Then no response points at it: arena.http answers validation in the error shape."""
    text = json.dumps(DOCUMENT)

    # Then no response points at Powertools' 422 body: arena.http answers validation in the error shape
    assert "HTTPValidationError" not in text
    assert "ValidationError" not in DOCUMENT["components"]["schemas"]


def test_a_not_modified_answer_has_no_body() -> None:
    """Given every operation that answers 304
    When its 304 response is read
    Then it has no content."""
    for _, _, operation in OPERATIONS:
        if "304" in operation["responses"]:
            assert "content" not in operation["responses"]["304"]


def test_operation_ids_are_unique_short_and_camel_case() -> None:
    """Given every operationId
    When they are checked
    Then each names the handler, in camelCase, briefly, and no two are equal."""
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]

    # Then
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", operation_id), operation_id
        assert len(operation_id) <= MAX_OPERATION_ID, operation_id


def test_every_reference_resolves() -> None:
    """Given every $ref in the document
    When each is resolved
    Then each points at something that exists."""
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(DOCUMENT)))

    # Then
    assert refs
    for ref in refs:
        assert _resolve(ref), ref


def test_servers_and_the_security_scheme_are_stated() -> None:
    """Given the document and the template's ApiUrl output
    When the servers and security are read
    Then the document says where the API runs (locally and as a deployed stage) and that a bearer JWT is required."""
    # Then the document says where the API runs: locally and as a deployed stage (the ApiUrl output's form)
    urls = [server["url"] for server in DOCUMENT["servers"]]
    assert "http://127.0.0.1:3000" in urls
    assert "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}" in urls
    template_url = load_template()["Outputs"]["ApiUrl"]["Value"]
    assert "execute-api.${AWS::Region}.amazonaws.com/${Stage}" in json.dumps(template_url)
    # And how to authenticate: a bearer JWT, required by default
    assert DOCUMENT["components"]["securitySchemes"]["cognitoJwt"]["scheme"] == "bearer"
    assert DOCUMENT["security"] == [{"cognitoJwt": []}]
