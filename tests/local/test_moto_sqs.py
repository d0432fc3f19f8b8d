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


def test_receive_and_delete_in_a_deep_queue_answer_as_sqs_does(aws: None) -> None:
    """Given the patch installed and a queue 1,000 messages deep
    When two receives of 10 take the first 20, and those are deleted (one of them twice, one by a stale handle)
    Then the two receives get 20 different messages in the order they were sent, the counts show 980 visible and
    20 in flight until the deletes, then 980 and none; a second delete is accepted, an unknown handle is refused,
    a message made visible again is received again under a new handle that deletes it, and a message sent
    meanwhile is kept."""
    moto_sqs.install()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="deep-receive")["QueueUrl"]
    for start in range(0, 1_000, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i:04d}"} for i in range(10)]
        )

    def counts() -> tuple[str, str]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return answer[names[0]], answer[names[1]]

    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in first + second] == [f"m{i:04d}" for i in range(20)]
    assert counts() == ("980", "20")

    sqs.send_message(QueueUrl=url, MessageBody="sent meanwhile")
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(first)]
    )
    assert len(deleted["Successful"]) == 10 and not deleted.get("Failed")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # again: accepted
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in again] == ["m0010"]
    assert again[0]["ReceiptHandle"] != second[0]["ReceiptHandle"]
    for message in again + second[1:]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert counts() == ("981", "0")
    bodies = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        bodies += [m["Body"] for m in batch]
    assert bodies == [f"m{i:04d}" for i in range(20, 1_000)] + ["sent meanwhile"]
