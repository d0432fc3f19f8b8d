"""Pydantic models: what the API takes and gives. Domain values live in arena.domain."""
