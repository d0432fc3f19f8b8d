"""Event chat: posting (HTTP and the WebSocket `chat` action share it), history, moderation, reports, presence.

Every entry point first asks the `event_chat` feature flag (off: 404 `feature_disabled`), then the event's chat
settings and the caller's ban and mute (arena.domain.chat), read in one BatchGetItem, so a moderation change
takes effect on the next request on either path. Pushes go to `chat:<event>` through arena.services.realtime.
"""
