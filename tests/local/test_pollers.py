"""local.pollers: SQS and DynamoDB stream event sources against moto, one poll at a time (poll_once)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest

from local.pollers import DynamoDBStreamPoller, SqsPoller, compile_filters, matches_filter


class Recorder:
    """A handler that records each event and answers what the test scripts (a result, or an exception)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.answers: list[Any] = []

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer(event) if callable(answer) else answer


# ---------------------------------------------------------------------------------------------- SQS


@pytest.fixture
def queue(aws: None) -> dict[str, Any]:
    client = boto3.client("sqs")
    url = client.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"client": client, "url": url, "arn": arn}


def _sqs_poller(queue: dict[str, Any], handler: Recorder, **kwargs: Any) -> SqsPoller:
    return SqsPoller(queue["client"], queue["url"], queue["arn"], handler, wait_seconds=0, **kwargs)


def _visible_and_hidden(queue: dict[str, Any]) -> tuple[int, int]:
    attributes = queue["client"].get_queue_attributes(
        QueueUrl=queue["url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_sqs_event_has_lambdas_record_shape(queue: dict[str, Any]) -> None:
    """Given a message with an attribute
    When polled
    Then the handler got Lambda's SQS record, and the message is gone"""
    queue["client"].send_message(
        QueueUrl=queue["url"],
        MessageBody='{"trade": 1}',
        MessageAttributes={"source": {"DataType": "String", "StringValue": "exchange"}},
    )
    handler = Recorder()

    # When
    assert _sqs_poller(queue, handler).poll_once() == 1

    # Then
    (record,) = handler.events[0]["Records"]
    assert record["body"] == '{"trade": 1}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue["arn"]
    assert record["awsRegion"] == "us-east-1"
    assert record["messageId"] and record["receiptHandle"] and record["md5OfBody"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"] == {
        "source": {"stringValue": "exchange", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert _visible_and_hidden(queue) == (0, 0)


def test_sqs_partial_batch_failure_leaves_only_the_failed_message(queue: dict[str, Any]) -> None:
    """Given three messages and a handler that reports the second one failed
    When polled
    Then only "b" is left, invisible until its visibility timeout, and then delivered again"""
    for body in ("a", "b", "c"):
        queue["client"].send_message(QueueUrl=queue["url"], MessageBody=body)
    handler = Recorder()
    handler.answers.append(
        lambda event: {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "b"]
        }
    )
    poller = _sqs_poller(queue, handler, report_batch_item_failures=True)

    # When
    assert poller.poll_once() == 3

    # Then
    assert _visible_and_hidden(queue) == (0, 1)
    time.sleep(1.1)
    poller.poll_once()
    (again,) = handler.events[1]["Records"]
    assert (again["body"], again["attributes"]["ApproximateReceiveCount"]) == ("b", "2")
    assert _visible_and_hidden(queue) == (0, 0)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(RuntimeError("handler failed"), id="raises"),
        pytest.param({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, id="unknown-item"),
        pytest.param({"batchItemFailures": [{"itemIdentifier": ""}]}, id="empty-item"),
    ],
)
def test_sqs_whole_batch_is_kept_when_the_handler_fails(queue: dict[str, Any], answer: Any) -> None:
    """Given two messages and a handler that raises or answers an invalid partial response
    When polled
    Then nothing is deleted."""
    for body in ("a", "b"):
        queue["client"].send_message(QueueUrl=queue["url"], MessageBody=body)
    handler = Recorder()
    handler.answers.append(answer)

    # When / Then
    _sqs_poller(queue, handler, report_batch_item_failures=True).poll_once()
    assert _visible_and_hidden(queue) == (0, 2)


def test_sqs_without_partial_responses_deletes_the_whole_batch(queue: dict[str, Any]) -> None:
    """Given a message and a source without partial batch responses
    When polled by a handler naming a failure
    Then the whole batch is deleted."""
    queue["client"].send_message(QueueUrl=queue["url"], MessageBody="a")
    handler = Recorder()
    handler.answers.append({"batchItemFailures": [{"itemIdentifier": "ignored"}]})
    _sqs_poller(queue, handler, report_batch_item_failures=False).poll_once()
    assert _visible_and_hidden(queue) == (0, 0)


def test_sqs_filters_drop_and_delete_unmatched_messages(queue: dict[str, Any]) -> None:
    """Given a filter on the JSON body and one matching, one unmatched message
    When polled
    Then only the match reaches the handler and both are gone from the queue."""
    for body in ('{"kind": "trade"}', '{"kind": "noise"}'):
        queue["client"].send_message(QueueUrl=queue["url"], MessageBody=body)
    handler = Recorder()
    filters = compile_filters({"Filters": [{"Pattern": '{"body": {"kind": ["trade"]}}'}]})

    # When / Then
    _sqs_poller(queue, handler, filters=filters, batch_size=10).poll_once()
    assert [r["body"] for r in handler.events[0]["Records"]] == ['{"kind": "trade"}']
    assert _visible_and_hidden(queue) == (0, 0)


# ---------------------------------------------------------------------------------------------- streams


@pytest.fixture
def stream(aws: None) -> dict[str, Any]:
    client = boto3.client("dynamodb")
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    return {"dynamodb": client, "streams": boto3.client("dynamodbstreams"), "table": name, "arn": arn}


def _put(stream: dict[str, Any], *keys: str, **attributes: str) -> None:
    for key in keys:
        item = {"pk": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}
        stream["dynamodb"].put_item(TableName=stream["table"], Item=item)


def _stream_poller(stream: dict[str, Any], handler: Recorder, **kwargs: Any) -> DynamoDBStreamPoller:
    kwargs.setdefault("starting_position", "TRIM_HORIZON")
    kwargs.setdefault("retry_backoff", 0)
    return DynamoDBStreamPoller(stream["streams"], stream["arn"], handler, **kwargs)


def _keys(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]]


def test_stream_event_has_lambdas_record_shape(stream: dict[str, Any]) -> None:
    """Given an insert and an update of one item
    When polled
    Then the records are Lambda's DynamoDB stream records"""
    _put(stream, "a", v="1")
    _put(stream, "a", v="2")
    handler = Recorder()

    # When
    assert _stream_poller(stream, handler).poll_once() == 2

    # Then
    insert, modify = handler.events[0]["Records"]
    assert (insert["eventName"], modify["eventName"]) == ("INSERT", "MODIFY")
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"] == stream["arn"]
    assert insert["awsRegion"] == "us-east-1"
    assert insert["eventID"] and insert["eventVersion"]
    dynamodb = modify["dynamodb"]
    assert dynamodb["Keys"] == {"pk": {"S": "a"}}
    assert dynamodb["NewImage"] == {"pk": {"S": "a"}, "v": {"S": "2"}}
    assert dynamodb["OldImage"] == {"pk": {"S": "a"}, "v": {"S": "1"}}
    assert dynamodb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(dynamodb["ApproximateCreationDateTime"], int)
    assert isinstance(dynamodb["SizeBytes"], int)
    assert int(modify["dynamodb"]["SequenceNumber"]) > int(insert["dynamodb"]["SequenceNumber"])


def test_stream_batches_respect_batch_size_and_order(stream: dict[str, Any]) -> None:
    """Given three stream records and a batch size of 2
    When polled twice
    Then the batches are [a, b] then [c]."""
    _put(stream, "a", "b", "c")
    handler = Recorder()
    poller = _stream_poller(stream, handler, batch_size=2)
    poller.poll_once()
    poller.poll_once()
    assert [_keys(event) for event in handler.events] == [["a", "b"], ["c"]]


def test_stream_partial_failure_retries_from_the_lowest_failed_record(stream: dict[str, Any]) -> None:
    """Given three records and a handler that fails "b" once
    When polled twice
    Then "b" and everything after it came again, and then nothing more; the poller's counts say two batches,
    five records, one with item failures, none raised or skipped"""
    _put(stream, "a", "b", "c")
    handler = Recorder()
    handler.answers.append(
        lambda event: {
            "batchItemFailures": [
                {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                for r in event["Records"]
                if r["dynamodb"]["Keys"]["pk"]["S"] == "b"
            ]
        }
    )
    poller = _stream_poller(stream, handler, report_batch_item_failures=True)

    # When
    poller.poll_once()
    poller.poll_once()

    # Then
    assert [_keys(event) for event in handler.events] == [["a", "b", "c"], ["b", "c"]]
    assert poller.poll_once() == 0
    assert poller.stats == {
        "batches": 2,
        "records": 5,
        "failed_batches": 0,
        "partial_failures": 1,
        "skipped_batches": 0,
    }


def test_stream_batch_is_redelivered_when_the_handler_raises_then_skipped(stream: dict[str, Any]) -> None:
    """Given a handler that raises every time and two retries allowed
    When polled until it gives up
    Then the batch came three times (first try + two retries), was skipped, and later records still flow; the
    poller counts three failed deliveries and one skipped batch"""
    _put(stream, "a")
    handler = Recorder()
    handler.answers.extend([RuntimeError("boom")] * 10)
    poller = _stream_poller(stream, handler, maximum_retry_attempts=2)

    # When
    for _ in range(4):
        poller.poll_once()

    # Then
    assert [_keys(event) for event in handler.events] == [["a"], ["a"], ["a"]]
    assert (poller.stats["failed_batches"], poller.stats["skipped_batches"]) == (3, 1)
    handler.answers.clear()
    _put(stream, "b")
    poller.poll_once()
    assert _keys(handler.events[-1]) == ["b"]


def test_stream_latest_skips_what_was_written_before(stream: dict[str, Any]) -> None:
    """Given a record written before the poller starts at LATEST
    When a new record comes
    Then only it is delivered."""
    _put(stream, "old")
    handler = Recorder()
    poller = _stream_poller(stream, handler, starting_position="LATEST")
    assert poller.poll_once() == 0

    # When / Then
    _put(stream, "new")
    poller.poll_once()
    assert [_keys(event) for event in handler.events] == [["new"]]


def test_stream_filters_checkpoint_unmatched_records(stream: dict[str, Any]) -> None:
    """Given a filter for modifications only
    When polled
    Then only the MODIFY record is delivered."""
    _put(stream, "a", v="1")
    _put(stream, "a", v="2")
    handler = Recorder()
    filters = compile_filters({"Filters": [{"Pattern": {"eventName": ["MODIFY"]}}]})

    # When / Then
    _stream_poller(stream, handler, filters=filters).poll_once()
    assert [[r["eventName"] for r in event["Records"]] for event in handler.events] == [["MODIFY"]]


def test_a_poller_thread_survives_handler_errors_and_stops_on_request(stream: dict[str, Any]) -> None:
    """Given a running poller whose handler fails on the first record
    When records arrive and the poller is stopped
    Then it went on after the error, and stop() ended the thread."""
    handler = Recorder()
    handler.answers.append(RuntimeError("first call fails"))
    poller = _stream_poller(stream, handler, maximum_retry_attempts=0)
    poller.start()
    try:
        _put(stream, "a")
        _put(stream, "b")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any("b" in _keys(event) for event in handler.events):
            time.sleep(0.05)
    finally:
        poller.stop()

    # Then
    assert any("b" in _keys(event) for event in handler.events)
    assert not poller.running


# ---------------------------------------------------------------------------------------------- filter rules


@pytest.mark.parametrize(
    ("pattern", "record", "expected"),
    [
        ({"a": ["x", "y"]}, {"a": "y"}, True),
        ({"a": ["x"]}, {"a": "z"}, False),
        ({"a": ["x"]}, {}, False),
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": [{"exists": True}]}, {"a": 1}, True),
        ({"a": [{"prefix": "ab"}]}, {"a": "abc"}, True),
        ({"a": [{"suffix": "bc"}]}, {"a": "abc"}, True),
        ({"a": [{"anything-but": ["x"]}]}, {"a": "y"}, True),
        ({"a": [{"anything-but": {"prefix": "x"}}]}, {"a": "xy"}, False),
        ({"a": [{"numeric": [">", 1, "<=", 5]}]}, {"a": 5}, True),
        ({"a": [{"numeric": [">", 1]}]}, {"a": "5"}, False),
        ({"a": [{"equals-ignore-case": "ABC"}]}, {"a": "abc"}, True),
        ({"a": {"b": ["x"]}}, {"a": {"b": "x"}}, True),
        ({"a": ["x"]}, {"a": ["w", "x"]}, True),
    ],
)
def test_filter_rules(pattern: dict, record: dict, expected: bool) -> None:
    """Given an event filter pattern and a record
    When the record is matched against it
    Then it matches as Lambda's filtering would."""
    assert matches_filter(pattern, record) is expected
