"""Prize distribution: from a COMPLETED event's frozen results to points credited, payouts requested and custom
prizes queued, exactly once, resumable after a crash at any point, verifiable and reversible.

One module per use case, each imported by its handlers in functions/prizes/: `start` (the dry run, starting or
resuming a run), `workflow` (the steps statemachine/distribution.asl.json runs), `rollback`, `views` (the run's
status, a user's prizes); `common` holds what they all read. The planning itself is pure, in domain/distribution.py.
"""

from arena.services.distribution.start import start_for_completed

__all__ = ["start_for_completed"]  # services/lifecycle.py's hook for COMPLETED events
