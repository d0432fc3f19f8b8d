"""The local stack: template.yaml running on one machine, without Docker or an AWS account.

Modules: template (read the SAM template, create its tables and queues, resolve intrinsics), jwt_issuer
(the stand-in for Cognito), apigw (API Gateway HTTP API events and responses), pollers (SQS and DynamoDB
stream event sources) and stack (LocalStack, which runs it all; `python -m local` starts one).
"""

import os


def stack_url() -> str:
    """The running stack the command-line helpers talk to: $ARENA (what `make run` exports), else $ARENA_BASE_URL
    (what the e2e tests take), else this machine's $PORT (3000)."""
    return (
        os.environ.get("ARENA")
        or os.environ.get("ARENA_BASE_URL")
        or f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"
    )
