"""Outbound AWS calls other than DynamoDB: the domain-event bus and EventBridge Scheduler."""
