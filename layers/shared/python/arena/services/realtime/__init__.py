"""Real-time use cases, one module each: `subscriptions` (the WebSocket routes), `leaderboard_push`, `activity_push`
and `domain_event_push` (the fan-out consumers), all posting through `sending` (publish, broadcast, shards). A
package, not five more modules beside the other services: they share the delivery contract below and `sending`,
and each function in functions/realtime/ imports only its own use case.

Delivery guarantees, end to end:
* The fan-out consumers (the leaderboard table's stream, the participants stream, the EventBridge bus) are
  at least once; each is idempotent behind a conditional write taken before it posts: a leaderboard push claims
  its snapshot generation, a rank change claims (user, event, generation), a participant change claims its item
  version, an event milestone its name, a domain event its EventBridge id. A redelivery finds its claim taken and
  posts nothing, so nothing reaches a client twice that it would count twice.
* Posting is at most once per claim: a crash between the claim and the post, or a failed post, loses that one
  message. Every message carries its topic's sequence number, taken in the claim, so the client sees the gap and
  refetches over HTTP. Leaderboard pushes also carry the snapshot generation (`version`) and are state, not
  events: applying one twice changes nothing.
* A 410 Gone deletes exactly the connection that answered it; any other failed post is counted and skipped.
"""
