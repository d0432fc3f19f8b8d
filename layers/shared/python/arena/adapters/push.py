"""Mobile push through Amazon SNS platform endpoints: one endpoint per device token (APNs for iOS, FCM for
Android), under the platform application PUSH_IOS_APPLICATION_ARN / PUSH_ANDROID_APPLICATION_ARN.

`create_endpoint` is idempotent per token: SNS answers the existing endpoint for a token it already has, and when
that endpoint's attributes differ (another user, disabled) it says so in an InvalidParameter whose message names
the endpoint's ARN; that endpoint is then updated (re-enabled, given to this user), as AWS's guidance does.
"""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from arena.adapters.chat_http import Outcome, PermanentFailure, RetryAfter, Sent, TransientFailure
from arena.config import settings
from arena.errors import BadRequest
from arena.factories import cached

PLATFORMS = ("ios", "android")
_EXISTING = re.compile(r"Endpoint (arn:[^\s]+) already exists")
MAX_TOKEN_LENGTH = 4_096


@cached
def client() -> Any:
    return boto3.client("sns")


def application_arn(platform: str) -> str:
    """The SNS platform application of `platform`; BadRequest for a platform Arena does not push to."""
    config = settings()
    arn = {"ios": config.push_ios_application_arn, "android": config.push_android_application_arn}.get(platform)
    if arn is None:
        raise BadRequest(f"Unknown platform {platform!r}: use ios or android.", code="invalid_platform")
    if not arn:
        raise BadRequest(f"Push to {platform} is not configured.", code="platform_not_configured")
    return arn


def create_endpoint(platform: str, token: str, user_id: str) -> str:
    """The endpoint ARN of this device token (created, or the existing one made this user's and enabled)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise BadRequest("A device token is 1 to 4096 characters.", code="invalid_device_token")
    application = application_arn(platform)
    attributes = {"CustomUserData": user_id, "Enabled": "true", "Token": token}
    try:
        answer = client().create_platform_endpoint(
            PlatformApplicationArn=application, Token=token, CustomUserData=user_id
        )
        return str(answer["EndpointArn"])
    except ClientError as error:
        existing = _EXISTING.search(str(error.response.get("Error", {}).get("Message", "")))
        if existing is None:
            if error.response.get("Error", {}).get("Code") == "InvalidParameter":
                raise BadRequest("SNS refused the device token.", code="invalid_device_token") from None
            raise
    arn = existing.group(1)
    client().set_endpoint_attributes(EndpointArn=arn, Attributes=attributes)
    return arn


def delete_endpoint(endpoint_arn: str) -> None:
    """Idempotent: deleting an endpoint that is gone changes nothing."""
    try:
        client().delete_endpoint(EndpointArn=endpoint_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NotFound", "NotFoundException"):
            raise


def payload(title: str, body: str, data: dict[str, str]) -> str:
    """SNS's per-platform message (MessageStructure json): the APNs alert and the FCM notification."""
    apns = json.dumps({"aps": {"alert": {"title": title, "body": body}, "sound": "default"}, **data})
    fcm = json.dumps({"notification": {"title": title, "body": body}, "data": data})
    return json.dumps({"default": body, "APNS": apns, "APNS_SANDBOX": apns, "GCM": fcm})


def publish(endpoint_arn: str, title: str, body: str, data: dict[str, str] | None = None) -> Outcome:
    """Push one notification to one device."""
    try:
        answer = client().publish(
            TargetArn=endpoint_arn, Message=payload(title, body, data or {}), MessageStructure="json"
        )
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("EndpointDisabled", "NotFound", "NotFoundException", "InvalidParameter"):
            return PermanentFailure(f"SNS {code}", link_broken=True)
        if code in ("Throttled", "ThrottlingException", "Throttling"):
            return RetryAfter(1.0, f"SNS {code}")
        return TransientFailure(f"SNS {code}")
    except BotoCoreError as error:
        return TransientFailure(f"SNS unreachable: {type(error).__name__}")
    return Sent(answer.get("MessageId"))
