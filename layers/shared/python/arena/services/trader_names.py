"""How traders are named where other traders read about them (leaderboard pages, my standing's neighbours, the
`leaderboard:<event>` pushes, the podium card): by public handle and public name, never by user id.

One rule decides who still sees user ids (`sees_user_ids`): admins, the event's managers and members of the
exchange's `service` group (they moderate and pay by user id). Everyone else gets `handle` and `name` (the display
name of a trader who opted in to a public profile, the anonymised "Trader XXXX" otherwise) and the avatar colour
and initials.

Cost: the handle, anonymised name and default colour are HMACs of the user id (computed, no I/O); only whether a
trader opted in, and as what, needs their profile. Profiles are cached in the container for NAMES_TTL_SECONDS
(30 s): a leaderboard push of the top 20 rows costs no read at all while the cache is warm, and at most one
BatchGetItem per 100 uncached traders every 30 s otherwise, whatever the number of connections (the push is made
once per topic, not per connection). So opting in or out shows on every board within 30 s, and at once in the
container that recorded the choice (`forget`; the local stack runs every function in one process).

Without a community secret (COMMUNITY_SECRET empty: the community feature is not set up) no handle can be made
that a guessed user id could not be checked against, so none is made: every row other than a moderator's view is
`handle: null`, `name: "Anonymous trader"` (no profile is read; nobody could opt in anyway), and the caller finds
their own row by `me: true` over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from arena.auth import Principal, Role
from arena.cache import LambdaCache, found
from arena.config import settings
from arena.domain import community as rules
from arena.models.events import Event
from arena.services import events as event_service
from arena.store import community as store

NAMES_TTL_SECONDS = 30.0
ANONYMOUS = "Anonymous trader"
ANONYMOUS_COLOUR = "#7f7f7f"

cache = LambdaCache(max_items=20_000)


@dataclass(frozen=True)
class PublicName:
    """A trader as other traders see them; `handle` is None when no community secret is set."""

    handle: str | None
    name: str
    colour: str
    initials: str


def sees_user_ids(principal: Principal | None, event: Event) -> bool:
    """Whether this caller is shown traders' user ids in this event's answers: admins, the event's managers and
    the exchange's service client, who act on traders by user id. Nobody else, and no anonymous caller."""
    if principal is None:
        return False
    return event_service.may_manage(principal, event) or Role.SERVICE in principal.roles


def own_handle(user_id: str) -> str | None:
    secret = settings().community_secret
    return rules.handle(secret, user_id) if secret else None


def names_of(user_ids: Iterable[str]) -> dict[str, PublicName]:
    """The public name of each trader: computed, but for the profiles not cached (one BatchGetItem per 100)."""
    wanted = list(dict.fromkeys(user_ids))
    secret = settings().community_secret
    if not secret:
        anonymous = PublicName(None, ANONYMOUS, ANONYMOUS_COLOUR, rules.initials(ANONYMOUS))
        return dict.fromkeys(wanted, anonymous)
    out: dict[str, PublicName] = {}
    missing = []
    for user_id in wanted:
        cached = cache.get((secret, user_id))
        if found(cached):
            out[user_id] = cached
        else:
            missing.append(user_id)
    if missing:
        for user_id, profile in store.get_profiles(missing).items():
            i = rules.identity(secret, user_id, profile.display_name, profile.colour, profile.public)
            out[user_id] = PublicName(i.handle, i.name, i.colour, i.initials)
            cache.put((secret, user_id), out[user_id], NAMES_TTL_SECONDS)
    return out


def forget(user_id: str) -> None:
    """Drop a trader's cached name (after they changed their choice), so this container shows it at once."""
    secret = settings().community_secret
    if secret:
        cache.discard((secret, user_id))
