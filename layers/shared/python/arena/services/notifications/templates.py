"""Notification templates: what each type says on each channel, rendered from the Jinja2 files of
arena/notification_templates/<locale>/.

One file per type (`<type>.jinja`, extending the empty `_base.jinja`) holds its blocks:

- `title`, `body` (plain text): the in-app item, the push notification, the email's subject, and what the other
  channels say when the file has no block of their own;
- `email_text`, `email_html` (the email's parts, inside `_email.txt.jinja` / `_email.html.jinja`, which add the
  unsubscribe link), `telegram` (Telegram's HTML parse mode), `discord` (Discord markdown): optional, defaults in
  `_defaults.jinja` built from the rendered title and body.

Escaping is the environment's, never the template author's: plain text is rendered as is (the web escapes it on
display); the email's HTML and Telegram's HTML are autoescaped (markupsafe: & < > " '); Discord's markdown escapes
every printed value (`discord_escape`: markdown characters, so a trader's or an event's name cannot format or link),
and the message goes out with no mentions allowed. Free text in `data` (an announcement's body) is clipped in the
templates to fit each channel's limit.

Locales: `render(..., locale=)` (default: the notification's); a locale without a file for the type falls back to
English, the one shipped.

What `data` holds per type (the planner fills it; decimal strings and ISO times, missing keys render empty):
EVENT_REMINDER event_name, reminder (start_24h|start_1h|end_1h|started|ended), starts_at, ends_at;
RANK_CHANGE event_name, move (entered_prize_zone|left_prize_zone|entered_top_10|left_top_10|passed_rival), rank,
previous_rank; PRIZE_WON event_name, rank, amount, token; PRIZE_CLAIMABLE and CLAIM_DEADLINE event_name, amount,
token, claim_deadline; PRIZE_PAID event_name, amount, token; NEW_EVENT event_name, starts_at, ends_at; MILESTONE
event_name, milestone (first_trade|qualified|prize_zone); ANNOUNCEMENT title, body, event_name; DIGEST date,
moves (a list of RANK_CHANGE data).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, Template, TemplateNotFound
from markupsafe import Markup

from arena.domain.notifications import Channel, Notification
from arena.factories import cached

TEMPLATES = Path(__file__).resolve().parents[2] / "notification_templates"
DEFAULT_LOCALE = "en"
_LOCALE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")

# The providers' limits: Discord's message content 2,000 characters, Telegram's text 4,096; a push alert is shown
# in a line or two (APNs' whole payload is 4 KB); the inbox shows a short title.
LIMITS = {
    Channel.DISCORD: 2_000,
    Channel.TELEGRAM: 4_096,
}
PUSH_TITLE_LIMIT, PUSH_BODY_LIMIT = 100, 240
IN_APP_TITLE_LIMIT, IN_APP_BODY_LIMIT = 200, 2_000
EMAIL_SUBJECT_LIMIT = 200

_DISCORD_SPECIAL = re.compile(r"([\\*_~`|>#\-\[\]()<@])")


def discord_escape(value: Any) -> str:
    """A value printed into Discord markdown: every character that could format, quote, link or mention is
    escaped with a backslash, so it shows as typed."""
    if value is None:
        return ""
    return _DISCORD_SPECIAL.sub(r"\\\1", str(value))


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


def _when(value: Any) -> str:
    """An ISO time as people read it: `Tue 1 Dec 2026, 12:00 UTC` (the notification's times are UTC)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} UTC"


def _clip(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def _environment(*, html: bool, markdown: bool = False) -> Environment:
    # Autoescape is on for the HTML environment only: plain text and Discord markdown are not HTML (the markdown
    # environment escapes every value through `finalize` instead).
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=html,  # noqa: S701
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=discord_escape if markdown else _blank_none,
        # The files ship with the code and never change under a running function: no stat of each file on every
        # get_template (3 a render, 300 for one in-app message of 100).
        auto_reload=False,
    )
    environment.filters["when"] = _when
    environment.filters["clip"] = _clip
    return environment


@cached
def _environments() -> dict[str, Environment]:
    return {
        "text": _environment(html=False),
        "html": _environment(html=True),
        "md": _environment(html=False, markdown=True),
    }


@dataclass(frozen=True)
class Rendered:
    """What one channel sends: `title` (email subject, push and in-app title; Discord and Telegram put it in
    `body`), `body` (plain text, or the channel's markup for Discord and Telegram) and, for email, `html`."""

    title: str
    body: str
    html: str | None = None


@functools.cache
def _shipped(locale: str) -> str:
    """`locale` when templates for it ship, else English."""
    locale = locale.replace("_", "-").lower()
    if _LOCALE.match(locale) and (TEMPLATES / locale).is_dir():
        return locale
    return DEFAULT_LOCALE


def _template(environment: Environment, locale: str, name: str) -> Template:
    if locale != DEFAULT_LOCALE and _LOCALE.match(locale):
        try:
            return environment.get_template(f"{locale}/{name}")
        except TemplateNotFound:
            pass
    return environment.get_template(f"{DEFAULT_LOCALE}/{name}")


def _blocks(
    environment: Environment, locale: str, kind: str, names: tuple[str, ...], values: dict[str, Any]
) -> list[str]:
    """Blocks of the type's file (one context for all), each from `_defaults.jinja` when the file has none."""
    rendered = []
    contexts: dict[str, tuple[Template, Any]] = {}
    for block in names:
        template = _template(environment, locale, f"{kind}.jinja")
        if block not in template.blocks:
            template = _template(environment, locale, "_defaults.jinja")
        if template.name not in contexts:
            context = template.new_context(values)
            # The file's top-level `set`s (its wording tables) run in its root, which renders nothing (it extends
            # the empty `_base.jinja`); its blocks see them after it.
            for _ in template.root_render_func(context):
                pass
            contexts[str(template.name)] = (template, context)
        template, context = contexts[str(template.name)]
        rendered.append("".join(template.blocks[block](context)).strip())
    return rendered


def _block(environment: Environment, locale: str, kind: str, block: str, values: dict[str, Any]) -> str:
    return _blocks(environment, locale, kind, (block,), values)[0]


def _values(notification: Notification, locale: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": notification.type.value,
        "event_id": notification.event_id,
        "data": dict(notification.data),
        "locale": locale,
        "created_at": notification.created_at.isoformat(),
        **extra,
    }


def render(
    notification: Notification,
    channel: Channel,
    *,
    locale: str | None = None,
    unsubscribe_url: str | None = None,
) -> Rendered:
    """What `notification` says on `channel` in `locale` (default: the notification's). Email needs the
    `unsubscribe_url` its footer links to (the dispatcher signs it)."""
    channel = Channel(channel)
    locale = _shipped(locale or notification.locale or DEFAULT_LOCALE)
    envs = _environments()
    kind = notification.type.value
    values = _values(notification, locale, {"unsubscribe_url": unsubscribe_url})
    title, body = _blocks(envs["text"], locale, kind, ("title", "body"), values)
    values.update(title_text=title, body_text=body)
    if channel is Channel.IN_APP:
        return Rendered(_clip(title, IN_APP_TITLE_LIMIT), _clip(body, IN_APP_BODY_LIMIT))
    if channel is Channel.PUSH:
        return Rendered(_clip(title, PUSH_TITLE_LIMIT), _clip(body, PUSH_BODY_LIMIT))
    if channel is Channel.EMAIL:
        if not unsubscribe_url:
            raise ValueError("an email needs its unsubscribe link")
        text_part = _block(envs["text"], locale, kind, "email_text", values)
        html_part = _block(envs["html"], locale, kind, "email_html", values)
        text = _template(envs["text"], locale, "_email.txt.jinja").render(values, content=text_part)
        html = _template(envs["html"], locale, "_email.html.jinja").render(values, content=Markup(html_part))  # noqa: S704 - rendered by the autoescaping environment
        return Rendered(_clip(title, EMAIL_SUBJECT_LIMIT), text.strip() + "\n", html)
    if channel is Channel.TELEGRAM:
        return Rendered(title, _fit(_block(envs["html"], locale, kind, "telegram", values), LIMITS[channel]))
    return Rendered(title, _fit(_block(envs["md"], locale, kind, "discord", values), LIMITS[channel]))


def _fit(text: str, limit: int) -> str:
    """Markup longer than the provider takes: the templates clip free text first, so this is a last guard that
    never cuts through an escape or an entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = re.sub(r"(\\|&[#a-zA-Z0-9]{0,8})$", "", cut)
    return cut.rstrip() + "…"
