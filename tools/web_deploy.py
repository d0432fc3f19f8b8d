"""Publish the web console to a deployed stage: web/dist to the stage's bucket, its config.json, then a CloudFront
invalidation (`make deploy-web STAGE=dev|prod`; `make deploy` runs it after `sam deploy`).

    python tools/web_deploy.py --stack arena-dev [--region us-east-1] [--dist web/dist] [--dry-run]

config.json is what makes one build serve every stage: the app reads the HTTP API's URL, the WebSocket URL and the
Cognito hosted UI (domain, the web client's id, the callback) from it at start. Everything comes from the stack's
outputs (template.yaml `Outputs`). The page and config.json are never cached; the bundle is cached until the next
upload, whose invalidation clears it.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
REQUIRED_OUTPUTS = ("ApiUrl", "WebSocketUrl", "WebUrl", "WebBucketName", "WebDistributionId", "HostedUiDomain")


def config_from_outputs(outputs: dict[str, str], stage: str) -> dict[str, Any]:
    """The stage's config.json from the stack's outputs (KeyError naming the first one missing)."""
    missing = [name for name in (*REQUIRED_OUTPUTS, "WebClientId") if not outputs.get(name)]
    if missing:
        raise KeyError(f"the stack has no output {missing[0]}: deploy template.yaml first (make deploy)")
    web_url = outputs["WebUrl"].rstrip("/")
    return {
        "api_url": outputs["ApiUrl"].rstrip("/"),
        "ws_url": outputs["WebSocketUrl"].rstrip("/"),
        "stage": stage,
        "auth": {
            "mode": "cognito",
            "domain": outputs["HostedUiDomain"].rstrip("/"),
            "client_id": outputs["WebClientId"],
            "redirect_uri": f"{web_url}/auth/callback",
            "logout_uri": f"{web_url}/",
        },
    }


def upload_plan(dist: Path) -> list[tuple[Path, str, str, str]]:
    """(file, key, content type, cache control) for every built file; the page is never cached."""
    plan = []
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = path.relative_to(dist).as_posix()
        kind = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        cache = "no-cache" if key == "index.html" else "public, max-age=300"
        plan.append((path, key, kind, cache))
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack", required=True, help="the deployed stack (samconfig.toml's stack_name)")
    parser.add_argument("--stage", default=None, help="the stage named in config.json (default: from the stack name)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--dist", default=str(ROOT / "web" / "dist"))
    parser.add_argument("--dry-run", action="store_true", help="print what would be uploaded, change nothing")
    args = parser.parse_args(argv)
    dist = Path(args.dist)
    if not (dist / "index.html").is_file():
        print(f"{dist} holds no build: run `make web` first", file=sys.stderr)
        return 1

    import boto3  # here: the tool's other functions are tested without AWS

    session = boto3.session.Session(region_name=args.region)
    stacks = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    config = config_from_outputs(outputs, args.stage or args.stack.rsplit("-", 1)[-1])
    plan = upload_plan(dist)
    bucket = outputs["WebBucketName"]
    if args.dry_run:
        for _, key, kind, cache in plan:
            print(f"s3://{bucket}/{key}  {kind}  {cache}")
        print(json.dumps(config, indent=2))
        return 0
    s3 = session.client("s3")
    for path, key, kind, cache in plan:
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=kind, CacheControl=cache)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config).encode(),
        ContentType="application/json",
        CacheControl="no-cache",
    )
    session.client("cloudfront").create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time_ns())},
    )
    print(f"{len(plan) + 1} files to s3://{bucket}; the console: {outputs['WebUrl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
