"""Lambda event filtering (FilterCriteria, EventBridge pattern syntax) of SQS and DynamoDB stream records."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


def compile_filters(filter_criteria: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    """The patterns of a FilterCriteria ({"Filters": [{"Pattern": "<json>"}]}), or None for no filtering."""
    if not filter_criteria:
        return None
    patterns = []
    for entry in filter_criteria.get("Filters") or []:
        pattern = entry.get("Pattern")
        patterns.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern or {}))
    return patterns or None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _numeric_match(value: Any, conditions: Sequence[Any]) -> bool:
    if not _is_number(value):
        return False
    operators = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    for operator, bound in zip(conditions[::2], conditions[1::2], strict=True):
        if not operators[operator](Decimal(str(value)), Decimal(str(bound))):
            return False
    return True


def _value_matches(value: Any, rule: Any, present: bool) -> bool:
    """One element of a pattern's value list against one value of the record."""
    if not isinstance(rule, Mapping):
        return present and value == rule
    if "exists" in rule:
        return present == bool(rule["exists"])
    if not present:
        return False
    if "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    if "suffix" in rule:
        return isinstance(value, str) and value.endswith(rule["suffix"])
    if "equals-ignore-case" in rule:
        return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
    if "numeric" in rule:
        return _numeric_match(value, rule["numeric"])
    if "anything-but" in rule:
        excluded = rule["anything-but"]
        if isinstance(excluded, Mapping):
            return not _value_matches(value, excluded, present)
        excluded = excluded if isinstance(excluded, list) else [excluded]
        return value not in excluded
    raise ValueError(f"unsupported filter rule: {rule}")


def matches_filter(pattern: Mapping[str, Any], record: Any) -> bool:
    """Lambda event filtering (EventBridge pattern syntax) of one record against one pattern."""
    for key, expected in pattern.items():
        present = isinstance(record, Mapping) and key in record
        value = record.get(key) if present else None
        if isinstance(expected, Mapping):
            if not present or not matches_filter(expected, value):
                return False
            continue
        values = value if isinstance(value, list) else [value]
        if not any(_value_matches(item, rule, present) for rule in expected for item in values):
            return False
    return True


def passes_filters(filters: Sequence[Mapping[str, Any]] | None, record: Mapping[str, Any]) -> bool:
    """A record is delivered when there are no filters or when any one of them matches."""
    return filters is None or any(matches_filter(pattern, record) for pattern in filters)
