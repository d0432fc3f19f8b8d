"""Notification use cases, one module each: the pipeline (planner, in-app dispatch, holds and digests, the channel
dispatchers, templates) and what the HTTP routes call (inbox reads, preferences, linking, devices, unsubscribe,
announcements)."""
