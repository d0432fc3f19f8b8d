"""`python -m local`: run template.yaml locally until SIGINT or SIGTERM.

Listens on HOST:PORT (defaults 127.0.0.1:3000). Parameter overrides take SAM's form, e.g.
`python -m local --parameter-overrides LogLevel=DEBUG`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from local.stack import LocalStack


def _parse_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise SystemExit(f"parameter override must be Name=Value, got {pair!r}")
        overrides[name] = value
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--template", default="template.yaml", help="relative to the repository root")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--log-level", default=os.environ.get("LOCAL_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # botocore announces at INFO where it found credentials and endpoints, for every client: noise here.
    logging.getLogger("botocore").setLevel(max(logging.WARNING, logging.getLogger().level))
    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        logging.getLogger("local").info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    stack = LocalStack(
        port=args.port,
        template_path=args.template,
        host=args.host,
        parameters=_parse_overrides(args.parameter_overrides),
    )
    stack.start()
    try:
        print(f"Arena local stack: {stack.base_url}  (moto: {stack.moto_endpoint})", flush=True)
        print(
            f'  token: curl -s -XPOST {stack.base_url}/local/token -d \'{{"sub":"u1","groups":["admin"]}}\'',
            flush=True,
        )
        websocket = next((s.url for s in stack.services if getattr(s, "name", "") == "websocket-api" and s.url), None)
        if websocket:
            print(f"  websocket: {websocket}/?token=<token>  (python -m local.watch <url> <topic>...)", flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
        logging.getLogger("local").info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
