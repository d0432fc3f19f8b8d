"""The local stack: template.yaml running on one machine, without Docker or an AWS account.

`stack` (LocalStack: starts and stops it all; `python -m local` runs one) and its parts, by role: the template
(`template`), the functions (`runtime`, `log_labels`), DynamoDB (`dynamodb_local`), the HTTP API (`gateway`,
`route_matching`, `apigw`, `http_server`, `helper_routes`, `jwt_issuer`), and the services it starts, which see it
through `protocols.StackHandle`: the WebSocket API (`websocket_api`, `websocket_routes`, `connections_api`), AppConfig
(`appconfig`, `flag_routes`), the Cognito user pool (`cognito`), the notifications' external channels
(`notification_channels`: SES and SNS in moto, fake Discord and Telegram APIs of `chat_providers`), event sources
(`event_sources`, `pollers`), `schedules`, `eventbridge`, `workflows` (also Lambda's Invoke, synchronous and
asynchronous). Command-line helpers: `demo` (with `chat_simulator`), `watch`,
`chat` (a terminal chat client), `flags`, `send_trades` (with `simulator`, `samples`), `athena`
(DuckDB over the archive).
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
