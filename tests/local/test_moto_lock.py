"""The lock that makes moto's transactions atomic holds for as long as anyone relies on it."""

from __future__ import annotations

from moto.dynamodb.models import DynamoDBBackend

from local.stack import serialise_moto_transactions


def test_the_lock_outlives_a_holder_that_lets_go_out_of_order() -> None:
    """Given a local stack that locks moto's transactions, then the test session that locks them too
    When the stack stops first (its undo runs before the session's)
    Then transactions stay locked until the session lets go, and then moto's own method is back."""
    before = DynamoDBBackend.transact_write_items
    stack_undo = serialise_moto_transactions()
    session_undo = serialise_moto_transactions()
    locked = DynamoDBBackend.transact_write_items

    stack_undo()
    stack_undo()  # an undo runs once, however often it is called
    still = DynamoDBBackend.transact_write_items
    session_undo()

    assert hasattr(locked, "moto_original")  # the locked wrapper, whoever installed it first
    assert still is locked
    assert DynamoDBBackend.transact_write_items is before  # as it was: moto's own, or the session's lock
