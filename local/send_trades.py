"""`python -m local.send_trades [FILE]`: send one trade batch to the local stack's SQS TradeQueue.

The body is what POST /api/trades takes, `{"trades": [...]}`, read from FILE or standard input, e.g.
    .venv/bin/python -m local.send_trades < trades.json
The queue is $TRADE_QUEUE (make run prints it), else the one $ARENA's /local/health names (default
http://127.0.0.1:$PORT, PORT 3000). ConsumeTradeQueueFunction takes the message within a second or so; trades it
rejects are logged by the stack (as a warning), never answered, since a queue has no one to answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import boto3

from local import stack_url
from local.template import DEFAULT_REGION  # the stack's region, whatever AWS_REGION says in this shell

# moto accepts any credentials; these keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def queue_url(arena: str) -> str:
    """The TradeQueue's URL, from the stack's health report."""
    with urllib.request.urlopen(f"{arena.rstrip('/')}/local/health", timeout=10) as answer:
        health = json.loads(answer.read())
    queue = health.get("aws", {}).get("queues", {}).get("TradeQueue")
    if not queue:
        raise SystemExit(f"{arena} reports no TradeQueue (is it the Arena local stack, and ready?)")
    return str(queue)


def send(url: str, body: dict[str, Any]) -> str:
    """Send one message; returns its id. The endpoint is the queue URL's own host (moto's)."""
    parts = urlsplit(url)
    client = boto3.client(
        "sqs", endpoint_url=f"{parts.scheme}://{parts.netloc}", region_name=DEFAULT_REGION, **FAKE_CREDENTIALS
    )
    return client.send_message(QueueUrl=url, MessageBody=json.dumps(body))["MessageId"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.send_trades", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("file", nargs="?", help='a JSON file with {"trades": [...]}; standard input when absent')
    parser.add_argument("--queue", default=os.environ.get("TRADE_QUEUE"), help="the queue URL (default $TRADE_QUEUE)")
    parser.add_argument(
        "--arena",
        default=stack_url(),
        help="the local stack, asked for the queue when --queue is not given (default $ARENA)",
    )
    args = parser.parse_args(argv)
    raw = open(args.file, encoding="utf-8").read() if args.file else sys.stdin.read()  # noqa: SIM115
    try:
        body = json.loads(raw)
    except ValueError as error:
        print(f"the body is not JSON: {error}", file=sys.stderr)
        return 2
    if not isinstance(body, dict) or not isinstance(body.get("trades"), list):
        print('the body must be {"trades": [...]}, as POST /api/trades takes', file=sys.stderr)
        return 2
    url = args.queue or queue_url(args.arena)
    message_id = send(url, body)
    print(json.dumps({"queue": url, "message_id": message_id, "trades": len(body["trades"])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
