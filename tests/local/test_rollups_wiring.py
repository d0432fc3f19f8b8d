"""The analytics rollups as the local stack (and Lambda) wire them from template.yaml: RollupTradesFunction follows
the trades and participants streams, inserts only, retried whole from a batch's first record, with a DLQ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.pollers import compile_filters, passes_filters
from local.template import iter_event_sources, load_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def _sources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        props["Stream"]["Fn::GetAtt"][0]: props
        for function, event_type, props in iter_event_sources(template, {"DynamoDB"})
        if function.logical_id == "RollupTradesFunction"
    }


def test_the_rollups_follow_the_trades_and_participants_streams(template: dict[str, Any]) -> None:
    """Given the template
    When the rollup function's stream sources are listed
    Then it reads both tables' streams with new images, retried whole from the first record, failures to its DLQ."""
    sources = _sources(template)

    # Then it reads both tables' streams, whose views carry the new images it needs
    assert set(sources) == {"TradesTable", "ParticipantsTable"}
    tables = template["Resources"]
    assert tables["TradesTable"]["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    assert "NEW" in tables["ParticipantsTable"]["Properties"]["StreamSpecification"]["StreamViewType"]
    for props in sources.values():
        # Retried whole from the first record (the idempotency of arena/services/rollups.py relies on it)
        assert props["BisectBatchOnFunctionError"] is False
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["ParallelizationFactor"] == 1
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["RollupDLQ", "Arn"]}


@pytest.mark.parametrize("event_name, delivered", [("INSERT", True), ("MODIFY", False), ("REMOVE", False)])
def test_only_inserts_reach_the_rollups(template: dict[str, Any], event_name: str, delivered: bool) -> None:
    """Given the filters the local poller compiles from the template, and a record of each kind
    When filtered
    Then only an insert (a trade or a participant arriving) is delivered."""
    record = {"eventName": event_name, "dynamodb": {"Keys": {"trade_id": {"S": "T-1"}, "event_id": {"S": "~feed"}}}}
    for props in _sources(template).values():
        filters = compile_filters(props.get("FilterCriteria"))
        # When / Then
        assert passes_filters(filters, record) is delivered
