"""The send lease of a delivery record (NotificationsTable `NOTIFICATION#<id>` / `DELIVERY#<channel>`, the record
arena/store/notifications.py creates and finishes): the one extra attribute `lease_until` an external-channel
dispatcher sets before it calls a provider.

Why: SQS may hand the same message to two invocations at once (a duplicate, or a visibility timeout that ran out);
the status check alone would let both call Discord or Telegram, which have no idempotency keys. Taking the lease is
a conditional update - the record is still open (QUEUED|HELD) and nobody else's lease is running - so exactly one of
them calls the provider. A lease outlives a provider call; if its holder dies, the next delivery of the message
after the lease ran out takes it again.
"""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.notifications import Channel, DeliveryStatus
from arena.store import dynamo


def take_lease(notification_id: str, channel: Channel, now: datetime, until: datetime) -> bool:
    """Take the send lease of an open delivery until `until`; False when the delivery is final, unknown or
    leased by someone else whose lease still runs."""
    try:
        dynamo.client().update_item(
            TableName=settings().notifications_table,
            Key=dynamo.to_item({"pk": f"NOTIFICATION#{notification_id}", "sk": f"DELIVERY#{channel.value}"}),
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="#s IN (:q, :h) AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":until": {"S": clock.to_iso(until)},
                ":now": {"S": clock.to_iso(now)},
                ":q": {"S": DeliveryStatus.QUEUED.value},
                ":h": {"S": DeliveryStatus.HELD.value},
            },
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


def release_lease(notification_id: str, channel: Channel) -> None:
    """Give the lease back (the provider asked to wait: the next delivery of the message must find it free)."""
    try:
        dynamo.client().update_item(
            TableName=settings().notifications_table,
            Key=dynamo.to_item({"pk": f"NOTIFICATION#{notification_id}", "sk": f"DELIVERY#{channel.value}"}),
            UpdateExpression="REMOVE lease_until",
            ConditionExpression="attribute_exists(pk)",
        )
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise
