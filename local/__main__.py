"""`python -m local`: run template.yaml locally until Ctrl-C (SIGINT) or SIGTERM; `make run` runs this.

Listens on HOST:PORT (defaults 127.0.0.1:3000). Prints ready-to-paste `export` lines (the API's URL, the WebSocket
URL, tokens for an admin, trader-01 and the trade feed, the TradeQueue's URL) and, given ARENA_ENV_FILE (`make run`
gives .local/env.sh), writes them there too.
With ARENA_DEMO=1 (`make run`'s default) it also creates a demo event and keeps a trade simulator running.

Environment: PORT, HOST, ARENA_DEMO (1/0), LOG_LEVEL (the functions' POWERTOOLS_LOG_LEVEL and the stack's own log
level, default WARNING), LOCAL_LOG_LEVEL (the stack's own only), INGEST_GRACE_SECONDS (how long an ended event
takes late trades, default 300). Parameter overrides take SAM's form, e.g. `--parameter-overrides LogLevel=DEBUG`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from asyncio import CancelledError
from pathlib import Path
from typing import Any

from local.http_server import PortInUse
from local.jwt_issuer import TRADE_FEED_CLIENT_ID
from local.stack import LocalStack
from local.web_console import WebConsole

ROOT = Path(__file__).resolve().parent.parent
TOKEN_TTL_SECONDS = 12 * 3600  # the printed tokens last a working day
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

log = logging.getLogger("local")


def _parse_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise SystemExit(f"parameter override must be Name=Value, got {pair!r}")
        overrides[name] = value
    return overrides


def _level(value: str) -> str:
    level = value.strip().upper()
    if level not in LEVELS:
        raise argparse.ArgumentTypeError(f"log level must be one of {', '.join(LEVELS)}, got {value!r}")
    return level


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def _parser() -> argparse.ArgumentParser:
    function_level = os.environ.get("LOG_LEVEL") or os.environ.get("POWERTOOLS_LOG_LEVEL") or "WARNING"
    parser = argparse.ArgumentParser(prog="python -m local", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--template", default="template.yaml", help="relative to the repository root")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--function-log-level", type=_level, default=function_level, help="the functions' log level (LOG_LEVEL)"
    )
    parser.add_argument(
        "--log-level",
        type=_level,
        default=os.environ.get("LOCAL_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "WARNING",
        help="the stack's own log level (LOCAL_LOG_LEVEL, else LOG_LEVEL)",
    )
    parser.add_argument(
        "--env-file",
        default=os.environ.get("ARENA_ENV_FILE") or None,
        help="also write the export lines to this file (ARENA_ENV_FILE; relative to the repository root)",
    )
    parser.add_argument(
        "--web-dir",
        default=os.environ.get("ARENA_WEB_DIR") or "web/dist",
        help="the built web console served at / (ARENA_WEB_DIR; relative to the repository root; `make web` builds it)",
    )
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument("--demo", dest="demo", action="store_true", default=_flag(os.environ.get("ARENA_DEMO"), False))
    demo.add_argument("--no-demo", dest="demo", action="store_false")
    return parser


def _exports(stack: LocalStack, tokens: dict[str, str], event_id: str | None) -> list[tuple[str, str, str]]:
    websocket = next((s.url for s in stack.services if getattr(s, "name", "") == "websocket-api" and s.url), None)
    trade_queue = stack.queues.get("TradeQueue", {}).get("url")
    exports = [("ARENA", stack.base_url, "the HTTP API")]
    if websocket:
        exports.append(("WS", websocket, "the WebSocket API"))
    if event_id:
        exports.append(("EVENT", event_id, "the demo event"))
    exports += [
        ("ADMIN", tokens["admin"], "demo-admin (group admin)"),
        ("TRADER", tokens["trader"], "trader-01 (group user)"),
        ("FEED", tokens["feed"], "the exchange's trade feed (client credentials: scope arena/trades.write only)"),
    ]
    if trade_queue:
        exports.append(("TRADE_QUEUE", trade_queue, "the SQS TradeQueue (python -m local.send_trades)"))
    return exports


def _write_env_file(name: str | None, exports: list[tuple[str, str, str]]) -> str | None:
    """The export lines written to `name` (relative to the repository root), for `source`; None when not asked or
    not written."""
    if not name:
        return None
    path = ROOT / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"export {variable}={value}\n" for variable, value, _ in exports))
        path.chmod(0o600)  # tokens
    except OSError as error:
        log.warning("could not write %s: %s", path, error)
        return None
    return name


def _banner(
    stack: LocalStack, exports: list[tuple[str, str, str]], demo: bool, grace: Any, levels: str, env_file: str | None
) -> str:
    values = {name: value for name, value, _ in exports}
    lines = [
        "",
        f"Arena local stack is up on {stack.base_url}  (health: {stack.base_url}/local/health)",
        f"Web console: {stack.base_url}/  (sign in as any user and role; the event page is /events/<id>)",
    ]
    if demo:
        lines.append(
            f"Demo event {values['EVENT']}: 20 of 60 simulated traders joined it; 25 trades a second on its 3 markets"
            " and one it does not take, after a week of history (analytics: participation, lift, new traders)."
        )
    else:
        lines.append("No demo event (ARENA_DEMO=0): create one with the README's POST /api/events example.")
    lines += [
        f"Ended events stay FINALIZING {grace} s for late trades (INGEST_GRACE_SECONDS). Logs: {levels}.",
        "",
        f"In another terminal: source {env_file}  (or paste these lines)"
        if env_file
        else "In another terminal, paste these lines:",
        *(f"export {name}={value}" for name, value, _ in exports),
        "",
        "Then try (more in README.md):",
    ]
    if demo:
        lines.append('  curl -s -H "Authorization: Bearer $TRADER" "$ARENA/api/events/$EVENT/leaderboard?limit=5"')
        lines.append('  curl -s -H "Authorization: Bearer $ADMIN" "$ARENA/api/events/$EVENT/performance"')
        lines.append(
            '  curl -s -H "Authorization: Bearer $TRADER" "$ARENA/api/me/notifications"   # trader-01\'s inbox'
        )
        lines.append('  curl -s "$ARENA/local/telegram"   # trader-01\'s Telegram; emails: /local/mail')
        if "WS" in values:
            lines.append('  .venv/bin/python -m local.watch "$WS/?token=$TRADER" leaderboard:$EVENT user:trader-01')
    else:
        lines.append('  curl -s -H "Authorization: Bearer $ADMIN" "$ARENA/api/events"')
    lines += ["", "Ctrl-C to stop."]
    return "\n".join(lines)


def _grace_seconds() -> Any:
    from arena.config import settings  # the layer is on sys.path once the stack runs

    return settings().ingest_grace_seconds


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    parameters = _parse_overrides(args.parameter_overrides)
    # The template's LogLevel parameter is every function's POWERTOOLS_LOG_LEVEL (INFO by default in AWS): a line per
    # invocation, thousands a minute here, would push the banner off the screen.
    parameters.setdefault("LogLevel", args.function_log_level)

    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # botocore announces at INFO where it found credentials and endpoints, for every client: noise here.
    logging.getLogger("botocore").setLevel(max(logging.WARNING, logging.getLogger().level))

    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        if stopping.is_set():
            print("still stopping (pollers, DynamoDB Local, moto), a few seconds...", file=sys.stderr, flush=True)
            return
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    # Stopping cancels the WebSocket API's open @connections sessions; Python 3.11's asyncio streams report each
    # cancelled session task as an ERROR with a traceback (StreamReaderProtocol's callback). Expected, so unsaid.
    logging.getLogger("asyncio").addFilter(
        lambda record: (
            not (stopping.is_set() and record.exc_info is not None and isinstance(record.exc_info[1], CancelledError))
        )
    )
    # Handlers for both, so Ctrl-C is a clean stop rather than a KeyboardInterrupt somewhere in a join.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    web_dir = Path(args.web_dir) if Path(args.web_dir).is_absolute() else ROOT / args.web_dir
    stack = LocalStack(
        port=args.port,
        template_path=args.template,
        host=args.host,
        parameters=parameters,
        services=[WebConsole(web_dir)],
    )
    try:
        stack.start()
    except PortInUse as busy:
        advice = f"stop the other process or run PORT={busy.port + 1} make run"
        print(f"port {busy.port} is in use: {advice}", file=sys.stderr)
        return 1
    demo: Any = None
    try:
        if stopping.is_set():  # stopped while starting
            return 0
        assert stack.issuer is not None
        tokens = {
            "admin": stack.issuer.issue("demo-admin", groups=["admin"], ttl_seconds=TOKEN_TTL_SECONDS),
            "trader": stack.issuer.issue("trader-01", groups=["user"], ttl_seconds=TOKEN_TTL_SECONDS),
            "feed": stack.issuer.issue_client_credentials(TRADE_FEED_CLIENT_ID, ttl_seconds=TOKEN_TTL_SECONDS),
        }
        event_id = None
        if args.demo:
            from local.demo import Demo, trader_tokens

            traders = trader_tokens(stack.issuer)
            demo = Demo(stack.base_url, tokens["admin"], traders, tokens["feed"])
            event_id = demo.start()
        exports = _exports(stack, tokens, event_id)
        env_file = _write_env_file(args.env_file, exports)
        levels = f"functions {args.function_log_level}, stack {args.log_level}"
        if args.function_log_level in ("WARNING", "ERROR"):
            levels += " (LOG_LEVEL=INFO make run for more)"
        print(_banner(stack, exports, args.demo, _grace_seconds(), levels, env_file), flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        if demo is not None:
            demo.stop()
        stack.stop()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is stopped and flushed; tearing down the interpreter's heap (moto's backends, every loaded function)
    # would take seconds more, so the process ends here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
