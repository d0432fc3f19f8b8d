"""local/moto_sqs.py: moto's SendMessage without its walk over the whole queue; what the queue answers is moto's."""

from __future__ import annotations

import boto3
import pytest

from local import moto_sqs


def test_sends_into_a_deep_queue_keep_every_message_and_the_counts(aws: None) -> None:
    """Given the patch installed and a standard and a content-deduplicated FIFO queue
    When 2,000 messages go into the standard queue and one body twice into the FIFO queue
    Then the standard queue counts 2,000 visible messages, GetQueueAttributes answers every attribute as before,
    and the FIFO queue still drops the duplicate (its flag is read where the send needs it)."""
    moto_sqs.install()
    moto_sqs.install()  # idempotent
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    for start in range(0, 2_000, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "2000"
    assert {"VisibilityTimeout", "MessageRetentionPeriod", "QueueArn"} <= set(attributes)
    fifo = sqs.create_queue(
        QueueName="dedupe.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    assert sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"] == {
        "ApproximateNumberOfMessages": "1"
    }
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.send_message(QueueUrl=fifo, MessageBody="no group")
