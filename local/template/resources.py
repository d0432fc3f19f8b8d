"""The template's DynamoDB tables and SQS queues, created in the local AWS as CloudFormation would create them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from local.template.intrinsics import LocalContext, getatt_parts, resolve
from local.template.loading import QUEUE_TYPE, TABLE_TYPE, resources_of_type

# The Properties of AWS::DynamoDB::Table that create_table takes with the same shape. The rest
# (PointInTimeRecoverySpecification, SSESpecification, TimeToLiveSpecification, Tags, ...) are either
# separate API calls or differently shaped, and do not matter to a local run.
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection")


def _index_kwargs(index: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    kwargs = {key: index[key] for key in _INDEX_KEYS if key in index}
    if provisioned and "ProvisionedThroughput" in index:
        kwargs["ProvisionedThroughput"] = index["ProvisionedThroughput"]
    return kwargs


def table_definitions(template: Mapping[str, Any], names: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """boto3 `create_table` kwargs for every AWS::DynamoDB::Table, keyed by logical id.

    The table is named after its logical id unless `names` maps the logical id to another name.
    """
    names = names or {}
    definitions: dict[str, dict[str, Any]] = {}
    for logical_id, props in resources_of_type(template, TABLE_TYPE).items():
        billing_mode = props.get("BillingMode", "PROVISIONED")
        provisioned = billing_mode == "PROVISIONED"
        kwargs: dict[str, Any] = {
            "TableName": names.get(logical_id, logical_id),
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": billing_mode,
        }
        if provisioned:
            kwargs["ProvisionedThroughput"] = props.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = [
                _index_kwargs(index, provisioned) for index in props["GlobalSecondaryIndexes"]
            ]
        if props.get("LocalSecondaryIndexes"):
            kwargs["LocalSecondaryIndexes"] = [
                _index_kwargs(index, provisioned=False) for index in props["LocalSecondaryIndexes"]
            ]
        stream = props.get("StreamSpecification")
        if stream and stream.get("StreamViewType"):
            # CloudFormation has no StreamEnabled; the API needs it.
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        definitions[logical_id] = kwargs
    return definitions


def ttl_attributes(template: Mapping[str, Any]) -> dict[str, str]:
    """{logical_id: TTL attribute name} for tables whose TimeToLiveSpecification is enabled."""
    result = {}
    for logical_id, props in resources_of_type(template, TABLE_TYPE).items():
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") and ttl.get("AttributeName"):
            result[logical_id] = ttl["AttributeName"]
    return result


def create_tables(
    dynamodb_client: Any,
    template: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
    *,
    exist_ok: bool = False,
) -> dict[str, str]:
    """Create every table of the template (and turn its TTL on); returns {logical_id: table_name}.

    With exist_ok, a table that already exists is left as it is (for engines that keep data between runs).
    """
    ttl = ttl_attributes(template)
    created: dict[str, str] = {}
    for logical_id, kwargs in table_definitions(template, names).items():
        table_name = kwargs["TableName"]
        try:
            dynamodb_client.create_table(**kwargs)
        except dynamodb_client.exceptions.ResourceInUseException:
            if not exist_ok:
                raise
        else:
            dynamodb_client.get_waiter("table_exists").wait(
                TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
            if logical_id in ttl:
                dynamodb_client.update_time_to_live(
                    TableName=table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[logical_id]},
                )
        created[logical_id] = table_name
    return created


# CloudFormation property -> SQS attribute name. SqsManagedSseEnabled, KmsMasterKeyId and Tags are dropped:
# encryption at rest means nothing on one machine.
_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "VisibilityTimeout",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "FifoQueue": "FifoQueue",
    "ContentBasedDeduplication": "ContentBasedDeduplication",
    "DeduplicationScope": "DeduplicationScope",
    "FifoThroughputLimit": "FifoThroughputLimit",
}


def _attribute_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def queue_definitions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{logical_id: {"QueueName", "Attributes", "RedrivePolicy"}} for every AWS::SQS::Queue.

    The RedrivePolicy is left unresolved (its deadLetterTargetArn is usually a GetAtt of another queue);
    create_queues resolves it once that queue exists.
    """
    definitions = {}
    for logical_id, props in resources_of_type(template, QUEUE_TYPE).items():
        fifo = bool(props.get("FifoQueue"))
        name = logical_id + (".fifo" if fifo else "")
        attributes = {
            attribute: _attribute_string(props[prop]) for prop, attribute in _QUEUE_ATTRIBUTES.items() if prop in props
        }
        definitions[logical_id] = {
            "QueueName": name,
            "Attributes": attributes,
            "RedrivePolicy": props.get("RedrivePolicy"),
        }
    return definitions


def _redrive_target(policy: Any) -> str | None:
    """The logical id a RedrivePolicy points at, when it is a GetAtt/Ref to a queue of the template."""
    if not isinstance(policy, Mapping):
        return None
    target = policy.get("deadLetterTargetArn")
    if isinstance(target, Mapping):
        if "Fn::GetAtt" in target:
            return getatt_parts(target["Fn::GetAtt"])[0]
        if "Ref" in target:
            return target["Ref"]
    return None


def create_queues(
    sqs_client: Any,
    template: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
    context: LocalContext | None = None,
) -> dict[str, dict[str, str]]:
    """Create every queue, dead-letter queues first; returns {logical_id: {"url", "arn", "name"}}."""
    names = names or {}
    definitions = queue_definitions(template)
    context = context or LocalContext(template=template)
    created: dict[str, dict[str, str]] = {}
    pending = dict(definitions)
    while pending:
        progressed = False
        for logical_id, definition in list(pending.items()):
            target = _redrive_target(definition["RedrivePolicy"])
            if target in pending and target != logical_id:
                continue  # its dead-letter queue first
            attributes = dict(definition["Attributes"])
            if definition["RedrivePolicy"]:
                policy = resolve(definition["RedrivePolicy"], context)
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": policy["deadLetterTargetArn"],
                        "maxReceiveCount": int(policy["maxReceiveCount"]),
                    }
                )
            name = names.get(logical_id, definition["QueueName"])
            url = sqs_client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            created[logical_id] = {"url": url, "arn": arn, "name": name}
            context.add_queue(logical_id, url=url, arn=arn, name=name)
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise ValueError(f"queues whose redrive policies form a cycle: {sorted(pending)}")
    return created


BUCKET_TYPE = "AWS::S3::Bucket"
DELIVERY_STREAM_TYPE = "AWS::KinesisFirehose::DeliveryStream"
GLUE_DATABASE_TYPE = "AWS::Glue::Database"
GLUE_TABLE_TYPE = "AWS::Glue::Table"


def bucket_name(logical_id: str, context: LocalContext) -> str:
    """A bucket without BucketName gets `<stack>-<logical id>` (lower case), as CloudFormation names it less its
    random suffix."""
    return f"{context.stack_name}-{logical_id}".lower()[:63]


def create_buckets(s3_client: Any, template: Mapping[str, Any], context: LocalContext) -> dict[str, str]:
    """Create every AWS::S3::Bucket (encrypted as the template says); returns {logical_id: bucket name}."""
    created: dict[str, str] = {}
    for logical_id, props in resources_of_type(template, BUCKET_TYPE).items():
        name = str(resolve(props["BucketName"], context)) if "BucketName" in props else bucket_name(logical_id, context)
        s3_client.create_bucket(Bucket=name)
        encryption = props.get("BucketEncryption")
        if encryption:
            # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {}),
                }
                for rule in resolve(encryption, context)["ServerSideEncryptionConfiguration"]
            ]
            s3_client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        context.refs[logical_id] = name
        context.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        context.attributes[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"
        created[logical_id] = name
    return created


def name_glue_resources(template: Mapping[str, Any], context: LocalContext) -> None:
    """The Glue database and tables are only names here (local/athena.py queries the archive with DuckDB): a Ref
    to one is its name, as in AWS."""
    for logical_id, props in resources_of_type(template, GLUE_DATABASE_TYPE).items():
        context.refs[logical_id] = str(resolve(props["DatabaseInput"]["Name"], context))
    for logical_id, props in resources_of_type(template, GLUE_TABLE_TYPE).items():
        context.refs[logical_id] = str(resolve(props["TableInput"]["Name"], context))


def _static_prefix(prefix: str) -> str:
    """The prefix up to its first Firehose expression (`!{...}`): moto writes a prefix as given, with no dynamic
    partitioning, so the local archive keeps the static part (objects land under it in moto's YYYY/MM/DD/HH/)."""
    return prefix.split("!{", 1)[0]


def create_delivery_streams(firehose_client: Any, template: Mapping[str, Any], context: LocalContext) -> dict[str, str]:
    """Create every DirectPut AWS::KinesisFirehose::DeliveryStream with an S3 destination in moto (buckets first);
    returns {logical_id: stream name}. moto delivers each PutRecordBatch at once, as one object of the records
    concatenated, and converts nothing: the local archive is JSON lines, not Parquet."""
    created: dict[str, str] = {}
    for logical_id, props in resources_of_type(template, DELIVERY_STREAM_TYPE).items():
        destination = props.get("ExtendedS3DestinationConfiguration") or props.get("S3DestinationConfiguration")
        if not destination:
            continue
        resolved = resolve(destination, context)
        name = str(resolve(props["DeliveryStreamName"], context)) if "DeliveryStreamName" in props else logical_id
        firehose_client.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "BucketARN": resolved["BucketARN"],
                "RoleARN": f"arn:aws:iam::{context.account_id}:role/local-firehose",
                "Prefix": _static_prefix(str(resolved.get("Prefix", ""))),
            },
        )
        context.refs[logical_id] = name
        context.attributes[(logical_id, "Arn")] = (
            f"arn:aws:firehose:{context.region}:{context.account_id}:deliverystream/{name}"
        )
        created[logical_id] = name
    return created
