"""The contract fuzz's checks fail where they should: a harness that passes everything would prove nothing.

No stack here: each check is given an answer made by hand for an operation of docs/openapi.json.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from schemathesis import Response
from schemathesis.core.failures import FailureGroup

from tests.contract.test_openapi_contract import CHECKS, OPERATIONS, ROOT, classify, error_shape_violation

ERROR = {"error": {"code": "event_not_found", "message": "No such event.", "details": None}}


def _operation(label: str) -> Any:
    return next(op for op in OPERATIONS if f"{op.method.upper()} {op.path}" == label)


def _answer(case: Any, status: int, body: bytes, content_type: str) -> Response:
    request = requests.Request(case.method, f"http://127.0.0.1{case.formatted_path}").prepare()
    headers = {"content-type": [content_type]}
    return Response(status_code=status, headers=headers, content=body, request=request, elapsed=0.01, verify=False)


def _failures(status: int, body: Any, content_type: str = "application/json") -> set[str]:
    """The failure classes the fuzz reports for this answer to GET /api/events/{eventId}."""
    case = _operation("GET /api/events/{eventId}").Case(path_parameters={"eventId": "e1"})
    try:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        case.validate_response(_answer(case, status, raw, content_type), checks=CHECKS)
    except FailureGroup as group:
        return {classify(failure) for failure in group.exceptions}
    return set()


def test_the_fuzz_covers_every_operation_of_the_document() -> None:
    """Given docs/openapi.json
    When its operations are compared with the fuzz's cases
    Then the fuzz has one case per operation, every path and method of it."""
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    documented = {f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods}
    assert {f"{op.method.upper()} {op.path}" for op in OPERATIONS} == documented


def test_a_documented_error_in_the_error_shape_passes() -> None:
    """Given a 404 the operation documents, in the error shape
    When the checks run on it
    Then no check fails."""
    assert _failures(404, ERROR) == set()
    assert error_shape_violation(404, json.dumps(ERROR).encode()) is None


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (500, ERROR, "application/json", "5xx"),
        (418, ERROR, "application/json", "undocumented status"),
        (404, "<html>not found</html>", "text/html", "undocumented content type"),
        (404, {"reason": "neither shape"}, "application/json", "body does not match the documented schema"),
    ],
    ids=["5xx", "undocumented status", "content type", "schema"],
)
def test_each_check_catches_its_class(status: int, body: Any, content_type: str, expected: str) -> None:
    """Given an answer that breaks the contract in one way
    When the checks run on it
    Then the fuzz names that class."""
    raw = body.encode() if isinstance(body, str) else body
    assert expected in _failures(status, raw, content_type)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, b'{"message": "Not Found"}'),
        (400, b"<html>Bad Request</html>"),
        (422, b'{"detail": [{"loc": ["body"], "msg": "field required"}]}'),
        (403, b'{"error": {"code": "forbidden", "message": "No."}}'),
        (403, b'{"error": {"code": 403, "message": "No.", "details": null}}'),
        (403, b'{"message": "Unauthorized"}'),
    ],
    ids=["gateway 404", "html", "framework 422", "no details", "numeric code", "authorizer body on a 403"],
)
def test_an_error_outside_the_error_shape_is_caught(status: int, body: bytes) -> None:
    """Given an error body that is not {"error": {"code", "message", "details"}}
    When the error shape check runs on it
    Then the fuzz says why."""
    assert error_shape_violation(status, body)


def test_the_authorizers_own_401_is_the_one_body_outside_the_shape() -> None:
    """Given API Gateway's JWT authorizer refusal (a body AWS does not let us reshape)
    When the error shape check runs on it
    Then the shape check lets it pass; the schema check still holds it to what the document says about 401."""
    assert error_shape_violation(401, b'{"message":"Unauthorized"}') is None
