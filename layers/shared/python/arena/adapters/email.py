"""Amazon SES (v2 SendEmail): a notification email, HTML with a plain-text alternative, sent as a raw MIME message
so it carries the List-Unsubscribe and List-Unsubscribe-Post headers (RFC 2369, RFC 8058 one-click) mailbox
providers show as an "Unsubscribe" button.

The sender is NOTIFICATIONS_EMAIL_SENDER (an SES verified identity; the local stack verifies it in moto, whose SES
keeps every sent message: /local/mail shows them).
"""

from __future__ import annotations

from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from arena.adapters.chat_http import Outcome, PermanentFailure, RetryAfter, Sent, TransientFailure
from arena.config import settings
from arena.factories import cached

# SES answers these when the account sends faster than its quota: wait a second, as SES advises.
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException"}
# The recipient or the message is refused as such: sending it again cannot help.
# SMTP line endings; headers up to RFC 5322's 998 characters stay on one line (an unsubscribe URL is long).
_POLICY = policy.SMTP.clone(max_line_length=998)
_REFUSED = {"MessageRejected", "BadRequestException", "InvalidParameterValue", "AccountSuspendedException"}


@cached
def client() -> Any:
    return boto3.client("sesv2")


def build_message(
    to: str, subject: str, text: str, html: str, *, unsubscribe_url: str, sender: str | None = None
) -> EmailMessage:
    """The MIME message: multipart/alternative (text, then HTML), with the unsubscribe headers."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender or settings().notifications_email_sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(str(message["From"]))[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps the message 7-bit (any relay takes it) and still readable as source.
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def valid_address(address: str) -> bool:
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError, TypeError):
        return False
    return "@" in address


def send(to: str, subject: str, text: str, html: str, *, unsubscribe_url: str) -> Outcome:
    """Send one email to `to`."""
    if not valid_address(to):
        return PermanentFailure("not an email address", link_broken=True)
    message = build_message(to, subject, text, html, unsubscribe_url=unsubscribe_url)
    try:
        answer = client().send_email(
            FromEmailAddress=str(message["From"]),
            Destination={"ToAddresses": [to]},
            Content={"Raw": {"Data": message.as_bytes()}},
        )
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        detail = str(error.response.get("Error", {}).get("Message", ""))
        if code in _THROTTLED:
            return RetryAfter(1.0, f"SES {code}")
        if code in _REFUSED:
            return PermanentFailure(f"SES {code}: {detail}")
        return TransientFailure(f"SES {code}: {detail}")
    except BotoCoreError as error:
        return TransientFailure(f"SES unreachable: {type(error).__name__}")
    return Sent(answer.get("MessageId"))
