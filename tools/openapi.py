"""Generate docs/openapi.json from the handlers' own routes and pydantic models.

Every HTTP function of template.yaml is one module with one resolver; this merges their OpenAPI documents
into one, adds the JWT security scheme, and writes it. `--check` exits 1 when the checked-in file is stale.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "openapi.json"
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared" / "python")]

from local.template import functions, load_template  # noqa: E402

DESCRIPTION = """Arena runs trading competitions for an exchange: admins create time-boxed events with a ranking
metric and a prize table, traders join, the exchange streams trades in, and live leaderboards rank the participants.

Authentication: every route takes a Cognito JWT as `Authorization: Bearer <token>`. Roles come from the token's
`cognito:groups` (admin, event-manager, user, service); machine clients use client-credentials tokens with one scope
per capability (`arena/trades.write`, `arena/equity.write`, `arena/accounts.flag`, `arena/payouts.callback`). A
caller without the role or scope gets 403 before the request is validated. Amounts are decimal strings, times UTC
ISO-8601. Errors are
`{"error": {"code", "message", "details"}}`."""


def _load(module_path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, module_path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def build() -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Arena API", "version": "1.0.0", "description": DESCRIPTION},
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"cognitoJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"cognitoJwt": []}],
    }
    for spec in sorted(functions(load_template(ROOT / "template.yaml")), key=lambda f: f.logical_id):
        if not any(kind == "HttpApi" for kind, _ in spec.events):
            continue
        module_name, _ = spec.handler.rsplit(".", 1)
        module = _load(ROOT / spec.code_uri / f"{module_name}.py", f"arena_openapi_{spec.logical_id}")
        part = module.app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
        for path, operations in part.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
        document["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when docs/openapi.json is not up to date")
    args = parser.parse_args()
    text = json.dumps(build(), indent=2, sort_keys=False) + "\n"
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print("docs/openapi.json is stale: run `make openapi` and commit it.", file=sys.stderr)
            return 1
        print("docs/openapi.json is up to date.")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
