"""Prize claims: a manual-claim event's prizes claimed by their owners before the deadline, held for review when
something looks wrong, paid exactly once, expired back to the pool when nobody claims them.

One module per thing a person (or a schedule) does, each serving its handlers in functions/claims/:
``my_prizes`` (what can I claim), ``claiming`` (claim one), ``settlement`` (pay what a claim's status promises),
``history`` (my claim history), ``review`` (the review queue and its decisions), ``fulfilment`` (an admin delivers a
custom prize), ``payouts`` (the wallet's callback), ``flags`` (the exchange flags an account), ``sweep`` (the hourly
expiry and repair). What several of them share is in ``shared``.
"""
