"""Notification use cases, one module each: the pipeline (planner, in-app dispatch, holds, the channel dispatchers)
and what the HTTP routes call (inbox reads, preferences, linking, devices, unsubscribe, announcements)."""
