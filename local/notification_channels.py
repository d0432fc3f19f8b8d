"""The notifications' external channels on one machine: SES and SNS from moto, Discord and Telegram from fakes.

`NotificationChannelsService`

1. starts the fake Discord and Telegram APIs (local/chat_providers.py) on their own ports and points the
   functions at them (DISCORD_API_BASE, TELEGRAM_API_BASE, TELEGRAM_BOT_TOKEN: the fake bot's);
2. verifies the email sender (NOTIFICATIONS_EMAIL_SENDER) in moto's SES, creates the iOS and Android SNS platform
   applications in moto (PUSH_IOS_APPLICATION_ARN, PUSH_ANDROID_APPLICATION_ARN), points unsubscribe links at
   this stack (PUBLIC_BASE_URL) and gives the run its own unsubscribe signing secret when the template's
   NotificationsSigningSecret parameter is empty;
3. answers helper routes on the HTTP API's port:
   - `GET /local/mail`: every email sent through SES (moto keeps them), newest last: id, from, to, subject,
     date, the List-Unsubscribe headers and the text part; `GET /local/mail/<id>`: that email's HTML as a page;
   - `GET /local/discord`, `GET /local/telegram`: what the fakes accepted (and refused: status and reason);
     `POST /local/discord/webhooks` makes a webhook (`{"url"}`); `POST /local/telegram/blocked` `{"chat_id"}`
     makes that chat block the bot; `POST /local/discord/rate-limit` `{"limit", "window"}` and
     `POST /local/telegram/rate-limit` `{"chat_rate", "chat_burst", "bot_rate", "bot_burst"}` change the pacing;
   - `GET /local/push`: what SNS pushed to each platform endpoint.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import secrets
from typing import TYPE_CHECKING, Any

from local.apigw import HttpResponse
from local.chat_providers import FakeDiscord, FakeTelegram
from local.helper_routes import bad_request, error_response, json_response
from local.runtime import clear_cached_factories

if TYPE_CHECKING:
    from local.protocols import StackHandle

logger = logging.getLogger("local.notification_channels")

DEFAULT_SENDER = "Arena <notifications@arena.local>"


def read_mail(raw: str) -> dict[str, Any]:
    """One raw MIME email as /local/mail lists it (the HTML part under `html`)."""
    message = email.message_from_string(raw, policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    html_part = message.get_body(preferencelist=("html",)) if message.is_multipart() else None
    return {
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "subject": str(message.get("Subject", "")),
        "date": str(message.get("Date", "")),
        "list_unsubscribe": str(message.get("List-Unsubscribe", "")),
        "list_unsubscribe_post": str(message.get("List-Unsubscribe-Post", "")),
        "text": text_part.get_content() if text_part is not None else "",
        "html": html_part.get_content() if html_part is not None else None,
    }


class NotificationChannelsService:
    """SES, SNS push, fake Discord and fake Telegram for the notification dispatchers, and their /local routes."""

    name = "notification-channels"

    def __init__(self) -> None:
        self.discord = FakeDiscord()
        self.telegram = FakeTelegram()
        self.push_applications: dict[str, str] = {}
        self._stack: StackHandle | None = None

    def start(self, stack: StackHandle) -> None:
        self._stack = stack
        host = stack.reachable_host
        discord_url = self.discord.start(host)
        telegram_url = self.telegram.start(host)
        stack.set_function_environ("DISCORD_API_BASE", f"{discord_url}/api")
        stack.set_function_environ("TELEGRAM_API_BASE", telegram_url)
        stack.set_function_environ("TELEGRAM_BOT_TOKEN", self.telegram.token)
        base_url = getattr(stack, "base_url", None) or f"http://{host}:{stack.port}"
        stack.set_function_environ("PUBLIC_BASE_URL", base_url)
        # The template's parameter is empty unless a deploy sets it: a run makes its own, shared by the function that
        # signs (the email dispatcher) and the one that verifies (the unsubscribe route), one process here.
        if not os.environ.get("NOTIFICATIONS_SIGNING_SECRET"):
            stack.set_function_environ("NOTIFICATIONS_SIGNING_SECRET", secrets.token_urlsafe(32))
        # The community key (anonymised names, handles, referral codes): the same idea, one per run unless set.
        if not os.environ.get("COMMUNITY_SECRET"):
            stack.set_function_environ("COMMUNITY_SECRET", secrets.token_urlsafe(32))
        sender = os.environ.get("NOTIFICATIONS_EMAIL_SENDER") or DEFAULT_SENDER
        stack.set_function_environ("NOTIFICATIONS_EMAIL_SENDER", sender)
        address = email.utils.parseaddr(sender)[1]
        stack.client("ses").verify_email_identity(EmailAddress=address)
        sns = stack.client("sns")
        for platform, sns_platform, variable in (
            ("ios", "APNS", "PUSH_IOS_APPLICATION_ARN"),
            ("android", "GCM", "PUSH_ANDROID_APPLICATION_ARN"),
        ):
            arn = sns.create_platform_application(
                Name=f"arena-local-{platform}", Platform=sns_platform, Attributes={"PlatformCredential": "local"}
            )["PlatformApplicationArn"]
            self.push_applications[platform] = arn
            stack.set_function_environ(variable, arn)
        clear_cached_factories()
        logger.info("fake Discord at %s, fake Telegram at %s, SES sender %s", discord_url, telegram_url, address)

    def stop(self) -> None:
        self.discord.stop()
        self.telegram.stop()
        self.push_applications = {}
        self._stack = None

    def health(self) -> dict[str, Any]:
        if self.discord.url is None:
            return {}
        return {"notification_channels": {"discord": self.discord.url, "telegram": self.telegram.url}}

    # -- what was sent

    def _ses_backend(self) -> Any:
        from moto.ses.models import ses_backends

        assert self._stack is not None
        return ses_backends[self._stack.account_id][self._stack.region]

    def mails(self) -> list[dict[str, Any]]:
        """Every email moto's SES accepted, newest last."""
        listed = []
        for message in list(self._ses_backend().sent_messages):
            raw = getattr(message, "raw_data", None)
            if raw is not None:
                entry = read_mail(raw)
            else:  # a SendEmail with Simple content: no headers of ours
                entry = {
                    "from": message.source,
                    "to": ", ".join(message.destinations.get("ToAddresses", [])),
                    "subject": message.subject,
                    "text": message.body,
                    "html": None,
                }
            listed.append({"id": message.id, **entry})
        return listed

    def pushes(self) -> list[dict[str, Any]]:
        from moto.sns.models import sns_backends

        assert self._stack is not None
        backend = sns_backends[self._stack.account_id][self._stack.region]
        return [
            {
                "endpoint_arn": arn,
                "token": endpoint.token,
                "user": endpoint.custom_user_data,
                "messages": [json.loads(m) if m.startswith("{") else m for m in endpoint.messages.values()],
            }
            for arn, endpoint in list(backend.platform_endpoints.items())
        ]

    # -- helper routes

    def local_route(self, method: str, raw_path: str, body: bytes) -> HttpResponse | None:
        if raw_path == "/local/mail" and method == "GET":
            return json_response(200, {"messages": [{k: v for k, v in m.items() if k != "html"} for m in self.mails()]})
        if raw_path.startswith("/local/mail/") and method == "GET":
            wanted = raw_path.rsplit("/", 1)[1]
            for message in self.mails():
                if message["id"] == wanted:
                    page = message["html"] or f"<pre>{_escape(message['text'])}</pre>"
                    return HttpResponse(200, [("content-type", "text/html; charset=utf-8")], page.encode())
            return error_response(404, "NOT_FOUND", f"no email {wanted}")
        if raw_path == "/local/discord" and method == "GET":
            with self.discord.lock:
                return json_response(
                    200, {"messages": list(self.discord.messages), "refusals": list(self.discord.refusals)}
                )
        if raw_path == "/local/telegram" and method == "GET":
            with self.telegram.lock:
                return json_response(
                    200, {"messages": list(self.telegram.messages), "refusals": list(self.telegram.refusals)}
                )
        if raw_path == "/local/push" and method == "GET":
            return json_response(200, {"endpoints": self.pushes()})
        if method == "POST" and raw_path in _POSTS:
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                return bad_request("the body is not JSON")
            if not isinstance(request, dict):
                return bad_request("the body must be a JSON object")
            return _POSTS[raw_path](self, request)
        return None

    def _new_webhook(self, request: dict[str, Any]) -> HttpResponse:
        return json_response(201, {"url": self.discord.create_webhook()})

    def _block_chat(self, request: dict[str, Any]) -> HttpResponse:
        chat_id = request.get("chat_id")
        if not isinstance(chat_id, str | int) or isinstance(chat_id, bool):
            return bad_request("chat_id must be a string or an integer")
        self.telegram.block(str(chat_id))
        return json_response(200, {"blocked": sorted(self.telegram.blocked)})

    def _discord_rate(self, request: dict[str, Any]) -> HttpResponse:
        limit, window = request.get("limit"), request.get("window")
        if not isinstance(limit, int) or limit < 1 or not isinstance(window, int | float) or window <= 0:
            return bad_request("limit (a positive integer) and window (seconds) are required")
        self.discord.set_rate_limit(limit, float(window))
        return json_response(200, {"limit": limit, "window": window})

    def _telegram_rate(self, request: dict[str, Any]) -> HttpResponse:
        names = ("chat_rate", "chat_burst", "bot_rate", "bot_burst")
        values = {name: request.get(name) for name in names}
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values.values()):
            return bad_request(f"{', '.join(names)} must be positive numbers")
        self.telegram.set_rate_limit(**{k: float(v) for k, v in values.items()})  # type: ignore[arg-type]
        return json_response(200, values)


_POSTS = {
    "/local/discord/webhooks": NotificationChannelsService._new_webhook,
    "/local/telegram/blocked": NotificationChannelsService._block_chat,
    "/local/discord/rate-limit": NotificationChannelsService._discord_rate,
    "/local/telegram/rate-limit": NotificationChannelsService._telegram_rate,
}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
