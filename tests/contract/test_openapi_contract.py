"""The API keeps the contract docs/openapi.json states, for every operation and every role, on any input.

Schemathesis generates requests from the document (schema-valid ones and deliberately invalid ones), the fuzz
sends each to the local stack as an anonymous caller, a user, the exchange's machine client, an event manager and
an admin, and every answer must be: not a 5xx; a status the operation documents; the documented content type; a
body matching the documented schema for that status; and, for every 4xx, the API's error shape
`{"error": {"code", "message", "details"}}`.

Path ids are real ones from the seed some of the time (so the routes get past "not found"), generated ones the rest,
and now and then longer than any DynamoDB key. Some bodies arrive with a Content-Type other than JSON or as bytes
that are not UTF-8. Every failure is collected (no shrinking: the run stays bounded) and reported per operation,
grouped by class, with one request to replay each.

Bounded and repeatable: a fixed number of examples per operation and role, derandomized. A bigger run by hand:
`ARENA_CONTRACT_EXAMPLES=200 make fuzz`; every run prints the requests sent and the statuses seen per operation and
role (tests/contract/conftest.py).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from schemathesis import GenerationMode
from schemathesis.checks import (  # the module resolves its registered checks by name
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from tests.contract.conftest import LEDGER, ROLE_ORDER, Caller, Seed

pytestmark = pytest.mark.e2e  # it drives the local stack over HTTP

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]

# Examples per operation and role (half schema-valid, half invalid); the anonymous caller is refused by the
# authorizer before any function runs, so it gets a quarter.
EXAMPLES = int(os.environ.get("ARENA_CONTRACT_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Longer than DynamoDB's partition key limit (2048 bytes): must be refused as input, never reach the table.
OVERLONG_ID = "e" * 2100
# API Gateway's HTTP API JWT authorizer answers this body itself; AWS offers no way to reshape it.
AUTHORIZER_REFUSAL = {"message": "Unauthorized"}


@dataclass
class Finding:
    """One class of failure on one operation for one role: how often, and the first request that showed it."""

    kind: str
    count: int = 0
    example: str = ""
    statuses: set[int] = field(default_factory=set)


@dataclass
class Findings:
    by_key: dict[tuple[str, str], Finding] = field(default_factory=dict)

    def add(self, role: str, kind: str, status: int, example: str) -> None:
        finding = self.by_key.setdefault((role, kind), Finding(kind))
        finding.count += 1
        finding.statuses.add(status)
        finding.example = finding.example or example

    def report(self) -> str:
        lines = []
        for (role, kind), finding in sorted(self.by_key.items(), key=lambda item: ROLE_ORDER.index(item[0][0])):
            statuses = ",".join(str(s) for s in sorted(finding.statuses))
            lines.append(f"[{role}] {kind} x{finding.count} (status {statuses})\n{finding.example}")
        return "\n\n".join(lines)


def error_shape_violation(status: int, body: bytes) -> str | None:
    """Why an error's body is not `{"error": {"code": str, "message": str, "details": ...}}`, or None if it is."""
    try:
        document = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    if status == 401 and document == AUTHORIZER_REFUSAL:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return "no `error` object"
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return "`error.code` and `error.message` must be strings"
    if "details" not in error:
        return "no `error.details`"
    return None


def classify(failure: Failure) -> str:
    """The failure's class as the report groups them."""
    names = {
        "ServerError": "5xx",
        "UndefinedStatusCode": "undocumented status",
        "UndefinedContentType": "undocumented content type",
        "MissingContentType": "missing content type",
        "JsonSchemaError": "body does not match the documented schema",
        "MalformedJson": "body is not the documented JSON",
    }
    return names.get(type(failure).__name__, type(failure).__name__)


# Bodies the generator would not write, each a way a client (or an attacker) can break a naive JSON handler.
HOSTILE_BODIES: dict[str, tuple[str, bytes | None]] = {
    "text/plain": ("text/plain", None),  # the generated body, declared as something else
    "invalid utf-8": ("application/json", b'{"name": "\xff\xfe\xc3"}'),
    "nested 1000 deep": ("application/json", b"[" * 1000 + b"]" * 1000),
    "integer past the digit limit": ("application/json", b'{"amount": 1' + b"0" * 5000 + b"}"),
}


def _hostile(data: st.DataObject, operation: Any) -> str:
    """Two thirds of the requests with a body go as generated, the rest with one of HOSTILE_BODIES."""
    if operation.body:
        return data.draw(st.sampled_from(["as generated"] * 8 + list(HOSTILE_BODIES)), label="body")
    return "as generated"


def _path_ids(data: st.DataObject, case: Any, seed: Seed) -> set[str]:
    """Put seeded ids (half the time), generated ones or an over-long one in the path; says which kinds went."""
    kinds = set()
    for name in list(case.path_parameters or {}):
        pool = seed.ids.get(name)
        choice = data.draw(st.sampled_from(["seeded"] * 5 + ["generated"] * 4 + ["overlong"]), label=name)
        if choice == "seeded" and pool:
            case.path_parameters[name] = data.draw(st.sampled_from(pool), label=f"{name} (seeded)")
        elif choice == "overlong":
            case.path_parameters[name] = OVERLONG_ID
        kinds.add(choice)
    return kinds


def _input_class(mode: GenerationMode, variant: str, id_kinds: set[str]) -> str:
    """What was hostile about a request, for grouping its failures: the body's transport, an over-long id, or
    else whether schemathesis meant the data to be valid."""
    if variant != "as generated":
        return f"{variant} body"
    if "overlong" in id_kinds:
        return "over-long path id"
    return "schema-valid input" if mode is GenerationMode.POSITIVE else "schema-invalid input"


def _send(case: Any, caller: Caller, base_url: str, body_variant: str) -> requests.Response:
    kwargs = case.as_transport_kwargs(base_url=base_url)
    headers = CaseInsensitiveDict(kwargs.get("headers") or {})
    headers.pop("authorization", None)
    headers.update(caller.headers)
    if body_variant in HOSTILE_BODIES:
        content_type, raw = HOSTILE_BODIES[body_variant]
        generated = kwargs.pop("json", None)
        if raw is None:
            raw = json.dumps(generated).encode() if generated is not None else kwargs.get("data") or b""
        kwargs["data"] = raw
        headers["content-type"] = content_type
    # A new connection per request: the local gateway writes headers and body separately, and on a kept-alive
    # connection Nagle's algorithm with delayed ACKs adds 40 ms to every answer.
    headers["connection"] = "close"
    kwargs["headers"] = headers
    kwargs.setdefault("timeout", 60)
    return requests.request(**kwargs)


def _curl(response: requests.Response) -> str:
    request = response.request
    body = request.body if isinstance(request.body, bytes | None) else request.body.encode()
    shown = (body or b"")[:600].decode("utf-8", "backslashreplace")
    headers = " ".join(
        f"-H '{k}: {v if k.lower() != 'authorization' else '<token>'}'"
        for k, v in request.headers.items()
        if k.lower() in ("content-type", "authorization")
    )
    answer = response.content[:400].decode("utf-8", "backslashreplace")
    curl = f"  curl -X {request.method} '{request.url[:300]}' {headers} -d '{shown}'"
    return f"{curl}\n  -> {response.status_code} {answer}"


def fuzz(operation: Any, caller: Caller, seed: Seed, base_url: str, findings: Findings) -> None:
    """The operation's budget for one role, half schema-valid requests and half invalid ones. A role the operation
    refused (403) for every schema-valid request is refused before its input is read: its invalid half shrinks to a
    quarter, as the anonymous caller's whole budget does."""
    budget = max(1, EXAMPLES // 4) if caller.token is None else EXAMPLES
    label = f"{operation.method.upper()} {operation.path}"
    fuzz_mode(operation, caller, GenerationMode.POSITIVE, max(1, budget // 2), seed, base_url, findings)
    seen = LEDGER.statuses.get((label, caller.role))
    refused = seen is not None and set(seen) == {403}
    invalid = max(1, EXAMPLES // 4) if refused else max(1, budget // 2)
    fuzz_mode(operation, caller, GenerationMode.NEGATIVE, invalid, seed, base_url, findings)


def fuzz_mode(
    operation: Any, caller: Caller, mode: GenerationMode, examples: int, seed: Seed, base_url: str, findings: Findings
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: every failure is recorded as found, and the run stays bounded
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def send_one(case: Any, data: st.DataObject) -> None:
        id_kinds = _path_ids(data, case, seed)
        variant = _hostile(data, operation)
        sent = time.perf_counter()
        response = _send(case, caller, base_url, variant)
        LEDGER.waited += time.perf_counter() - sent
        status = response.status_code
        LEDGER.record(label, caller.role, status)
        given_input = _input_class(mode, variant, id_kinds)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                kind = classify(failure)
                if kind == "undocumented status" and status >= 500:
                    continue  # the 5xx itself is the finding
                detail = " ".join(failure.message.split())[:400]
                kind = f"{kind} ({status}) on {given_input}"
                findings.add(caller.role, kind, status, f"  {detail}\n{_curl(response)}")
                LEDGER.failed(kind, label, caller.role)
        if status >= 400:
            why = error_shape_violation(status, response.content)
            if why:
                kind = f"error outside the error shape ({why}; {status}) on {given_input}"
                findings.add(caller.role, kind, status, _curl(response))
                LEDGER.failed(kind, label, caller.role)

    send_one()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_every_operation_keeps_the_contract_for_every_role(
    operation: Any, callers: list[Caller], seed: Seed, contract_stack: Any
) -> None:
    """Given the seeded stack and docs/openapi.json
    When the fuzz sends the operation its budget of generated requests as each role
    Then no answer is a 5xx, undocumented, of another content type or schema, or an error outside the error shape."""
    findings = Findings()
    started = time.perf_counter()
    for caller in callers:
        fuzz(operation, caller, seed, contract_stack.base_url, findings)
    LEDGER.seconds += time.perf_counter() - started
    broken = f"{operation.method.upper()} {operation.path} broke the contract:\n\n"
    assert not findings.by_key, broken + findings.report()
