"""Notifications: the planner, the in-app inbox, the channel dispatchers, holds and digests, templates."""
