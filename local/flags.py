"""`python -m local.flags`: read and change the local stack's feature flags, no restart needed.

    .venv/bin/python -m local.flags                                  every flag, its default and rules
    .venv/bin/python -m local.flags set event_chat on                on (or off) for everyone: the flag's default
    .venv/bin/python -m local.flags rule event_chat admins           on for admins (roles: any of the given roles)
    .venv/bin/python -m local.flags rule share_cards events EVT-1 EVT-2
    .venv/bin/python -m local.flags rule notifications_email percent 10
    .venv/bin/python -m local.flags rule event_chat users alice bob
    .venv/bin/python -m local.flags clear event_chat                 drop the flag's rules
    .venv/bin/python -m local.flags reset                            back to template.yaml's document

It calls the stack's `/local/flags` routes (--url, else local.stack_url(): $ARENA, $ARENA_BASE_URL or port 3000);
each change is a new hosted configuration version, seen by the functions within a second or two.
A rule replaces the flag's rule of the same kind, so `rule X percent 25` grows a 10% rollout to 25%.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from local import stack_url
from local import template as tpl


def _rule_builders() -> Any:
    """arena.flags, from the shared layer's folder as the stack mounts it (its builders write the rules)."""
    for folder in tpl.layer_python_dirs(tpl.load_template(), tpl.REPO_ROOT):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.append(str(folder))
    from arena import flags

    return flags


def _call(base_url: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            message = json.loads(raw)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = raw.decode(errors="replace") or error.reason
        raise SystemExit(f"{method} {path}: HTTP {error.code}: {message}") from None
    except urllib.error.URLError as error:
        raise SystemExit(f"no local stack at {base_url} ({error.reason}); start it with `make run`") from None


def build_rule(kind: str, values: list[str]) -> dict[str, Any]:
    flags = _rule_builders()
    if kind == "admins":
        return flags.role_rule("admin")
    if kind == "roles":
        return flags.role_rule(*values)
    if kind == "events":
        return flags.events_rule(*values)
    if kind == "users":
        return flags.users_rule(*values)
    if kind == "percent":
        if len(values) != 1 or not values[0].isdigit():
            raise ValueError("percent takes one whole number from 1 to 100")
        return flags.percentage_rule(int(values[0]))
    raise ValueError(f"unknown rule kind {kind}")


def _show(document: dict[str, Any]) -> None:
    print(f"version {document.get('version')}")
    for name, flag in sorted(document.get("flags", {}).items()):
        state = "on" if flag.get("default") else "off"
        rules = ", ".join(sorted(flag.get("rules") or {})) or "no rules"
        print(f"  {name:<28} default {state:<4} {rules}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.flags", description=__doc__.split("\n")[0])
    default_url = stack_url()
    parser.add_argument("--url", default=default_url, help="the local stack (default %(default)s)")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("list", help="every flag")
    set_ = commands.add_parser("set", help="a flag's default: on or off for everyone its rules do not match")
    set_.add_argument("name")
    set_.add_argument("state", choices=["on", "off"])
    rule = commands.add_parser(
        "rule", help="add (or replace) a rule: admins, roles R.., events ID.., users ID.., percent N"
    )
    rule.add_argument("name")
    rule.add_argument("kind", choices=["admins", "roles", "events", "users", "percent"])
    rule.add_argument("values", nargs="*")
    clear = commands.add_parser("clear", help="drop a flag's rules")
    clear.add_argument("name")
    commands.add_parser("reset", help="template.yaml's document again")
    args = parser.parse_args(argv)

    if args.command in (None, "list"):
        _show(_call(args.url, "GET", "/local/flags"))
        return 0
    if args.command == "reset":
        _show(_call(args.url, "POST", "/local/flags/reset"))
        return 0
    if args.command == "set":
        change: dict[str, Any] = {"default": args.state == "on"}
    elif args.command == "clear":
        change = {"rules": {}}
    else:
        try:
            built = build_rule(args.kind, args.values)
        except ValueError as error:
            parser.error(str(error))
        current = _call(args.url, "GET", "/local/flags")["flags"].get(args.name) or {}
        change = {"rules": {**(current.get("rules") or {}), args.kind: built}}
        if not current:
            change["default"] = False
    _show(_call(args.url, "PUT", f"/local/flags/{args.name}", change))
    return 0


if __name__ == "__main__":
    sys.exit(main())
