"""Community and sharing: opt-in public profiles, anonymised names for everyone else, follows, share cards (PNG)
and their public pages (Open Graph / X card tags), referral codes counted when an invitee joins.

Privacy: whatever is public here names a trader by their handle and their public name (the display name when
they opted in, "Trader XXXX" otherwise), never by user id; a trader's choice is read on every request of a
profile or rank card, so a change takes effect there at once (the podium and leaderboards name traders through
arena/services/trader_names.py: within its 30 s cache). A prize amount shows on a card only when its trader chose
`show_prizes`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import escape
from urllib.parse import quote

from arena import clock
from arena.auth import Principal, Role
from arena.config import settings
from arena.domain import community as rules
from arena.domain import share_card
from arena.errors import BadRequest, InvalidInput, NotFound
from arena.flags import Flag, require
from arena.models.community import (
    EventRank,
    Followed,
    FollowingList,
    Identity,
    MyProfile,
    ProfileUpdate,
    PublicProfile,
    ReferralCounts,
    ReferralRow,
    ShareLink,
)
from arena.services import events as event_service
from arena.services import leaderboard, trader_names
from arena.store import community as store
from arena.store import user_prizes

_HANDLE = re.compile(rf"^[0-9a-z]{{{rules.HANDLE_LENGTH}}}$")
_REFERRAL = re.compile(rf"^[0-9A-Z]{{{rules.REFERRAL_LENGTH}}}$")
BEST_RANKS = 10
FOLLOWED_EVENTS = 5


def _secret() -> str:
    secret = settings().community_secret
    if not secret:
        raise NotFound("This feature is not available.", code="feature_disabled", details={"feature": "community"})
    return secret


def identity_of(user_id: str, profile: store.ProfileRecord) -> Identity:
    i = rules.identity(_secret(), user_id, profile.display_name, profile.colour, profile.public)
    return Identity(handle=i.handle, name=i.name, public=i.public, colour=i.colour, initials=i.initials)


def _user_of(handle: str) -> str:
    user_id = store.user_of_handle(handle) if _HANDLE.match(handle) else None
    if user_id is None:
        raise NotFound("No such trader.", code="trader_not_found")
    return user_id


# ------------------------------------------------------------------------------------------------ profiles


def my_profile(principal: Principal) -> MyProfile:
    secret = _secret()
    profile = store.get_profile(principal.user_id)
    ident = identity_of(principal.user_id, profile)
    store.put_handle(ident.handle, principal.user_id)
    code = rules.referral_code(secret, principal.user_id)
    store.put_referral_code(code, principal.user_id)
    return MyProfile(
        identity=ident,
        display_name=profile.display_name,
        show_prizes=profile.show_prizes,
        referral_code=code,
        updated_at=profile.updated_at,
    )


def update_profile(principal: Principal, update: ProfileUpdate) -> MyProfile:
    """Opt in or out; at once (every public answer reads the choice afresh)."""
    require(Flag.PUBLIC_PROFILES, principal)
    current = store.get_profile(principal.user_id)
    display_name = update.display_name or current.display_name
    if update.public and not display_name:
        details = [{"field": "display_name", "message": "is required to go public", "type": "missing"}]
        raise InvalidInput("display_name is required to go public.", code="display_name_required", details=details)
    record = store.ProfileRecord(
        user_id=principal.user_id,
        public=update.public,
        display_name=display_name,
        colour=update.colour or current.colour,
        show_prizes=update.show_prizes,
        updated_at=clock.now(),
    )
    store.put_profile(record, rules.handle(_secret(), principal.user_id))
    trader_names.forget(principal.user_id)
    return my_profile(principal)


def _as_trader(user_id: str) -> Principal:
    return Principal(user_id=user_id, roles=frozenset({Role.USER}))


def _event_rank(user_id: str, event_id: str) -> EventRank | None:
    try:
        event = event_service.load(event_id)
        standing = leaderboard.my_standing(_as_trader(user_id), event_id, 0)
    except NotFound:
        return None
    total = leaderboard.leaderboard_page(event_id, 1, None).body.total
    return EventRank(event_id=event_id, event_name=event.name, rank=standing.rank, total=total, score=standing.score)


def public_profile(handle: str) -> PublicProfile:
    """A public trader's profile; a trader who has not opted in has none (404, the same as an unknown handle)."""
    require(Flag.PUBLIC_PROFILES)
    user_id = _user_of(handle)
    profile = store.get_profile(user_id)
    if not profile.public:
        raise NotFound("No such trader.", code="trader_not_found")
    events = store.events_joined(user_id)
    ranks = [r for r in (_event_rank(user_id, e) for e in events) if r is not None and r.rank is not None]
    ranks.sort(key=lambda r: (r.rank or 0, r.event_id))
    prizes = user_prizes.of_user(user_id)
    return PublicProfile(
        identity=identity_of(user_id, profile),
        events_joined=len(events),
        best_ranks=ranks[:BEST_RANKS],
        badges=rules.badges(len(events), [r.rank for r in ranks if r.rank], len(prizes)),
    )


# ------------------------------------------------------------------------------------------------ follows


def follow(principal: Principal, handle: str) -> Followed:
    """Follow a public trader (404 for anyone else); idempotent."""
    require(Flag.PUBLIC_PROFILES, principal)
    user_id = _user_of(handle)
    if user_id == principal.user_id:
        raise BadRequest("You cannot follow yourself.", code="follow_self")
    profile = store.get_profile(user_id)
    if not profile.public:
        raise NotFound("No such trader.", code="trader_not_found")
    store.follow(principal.user_id, user_id, clock.now())
    return _followed(user_id, profile)


def unfollow(principal: Principal, handle: str) -> None:
    """Idempotent: unfollowing someone not followed changes nothing."""
    require(Flag.PUBLIC_PROFILES, principal)
    user_id = store.user_of_handle(handle) if _HANDLE.match(handle) else None
    if user_id is not None:
        store.unfollow(principal.user_id, user_id)


def _followed(user_id: str, profile: store.ProfileRecord) -> Followed:
    events = store.events_joined(user_id, FOLLOWED_EVENTS)
    ranks = [r for r in (_event_rank(user_id, e) for e in events) if r is not None]
    return Followed(identity=identity_of(user_id, profile), ranks=ranks)


def following(principal: Principal) -> FollowingList:
    """Whom I follow, with their current ranks; a trader who went private since drops out at once."""
    require(Flag.PUBLIC_PROFILES, principal)
    followed = store.following(principal.user_id)
    profiles = store.get_profiles(followed)
    return FollowingList(items=[_followed(u, profiles[u]) for u in followed if profiles[u].public])


# ------------------------------------------------------------------------------------------------ share cards


def _base() -> str:
    return settings().public_base_url.rstrip("/")


def my_share_link(principal: Principal, event_id: str) -> ShareLink:
    """My card's public page and image for an event I joined, with my referral code on the page's link."""
    require(Flag.SHARE_CARDS, principal, event_id)
    leaderboard.my_standing(principal, event_id, 0)  # 404 not_participant otherwise
    mine = my_profile(principal)
    path = f"/api/share/traders/{mine.identity.handle}/events/{quote(event_id)}"
    return ShareLink(url=f"{_base()}{path}?ref={mine.referral_code}", image_url=f"{_base()}{path}/card.png")


def podium_share_link(event_id: str) -> ShareLink:
    require(Flag.SHARE_CARDS, None, event_id)
    event_service.load(event_id)
    path = f"/api/share/events/{quote(event_id)}"
    return ShareLink(url=f"{_base()}{path}", image_url=f"{_base()}{path}/podium.png")


def _prize_text(user_id: str, event_id: str) -> str | None:
    prizes = [p for p in user_prizes.of_user(user_id) if p.event_id == event_id]
    if not prizes:
        return None
    return ", ".join(f"{p.amount.normalize():f} {p.currency_name}" for p in prizes)


def _rank_card(handle: str, event_id: str) -> tuple[list[share_card.Line], str]:
    require(Flag.SHARE_CARDS, None, event_id)
    user_id = _user_of(handle)
    event = event_service.load(event_id)
    try:
        standing = leaderboard.my_standing(_as_trader(user_id), event_id, 0)
    except NotFound:
        raise NotFound("No such card.", code="card_not_found") from None
    total = leaderboard.leaderboard_page(event_id, 1, None).body.total
    profile = store.get_profile(user_id)
    name = identity_of(user_id, profile).name
    top = rules.top_percent(standing.rank, total) if standing.rank and total else None
    prize = _prize_text(user_id, event_id) if profile.show_prizes else None
    lines = share_card.rank_lines(event.name, name, standing.rank, total, top, standing.score, prize)
    rank_text = f"#{standing.rank} of {total}" if standing.rank else "taking part"
    return lines, f"{name}: {rank_text} in {event.name}"


def _podium_card(event_id: str) -> tuple[list[share_card.Line], str]:
    require(Flag.SHARE_CARDS, None, event_id)
    event = event_service.load(event_id)
    entries = leaderboard.leaderboard_page(event_id, 3, None).body.entries
    podium = [(e.rank, e.name, Decimal(e.score)) for e in entries]
    return share_card.podium_lines(event.name, podium), f"The podium of {event.name}"


def rank_card_png(handle: str, event_id: str) -> bytes:
    return share_card.render(_rank_card(handle, event_id)[0])


def podium_card_png(event_id: str) -> bytes:
    return share_card.render(_podium_card(event_id)[0])


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="website">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:image" content="{image}">
<meta property="og:image:type" content="image/png">
<meta property="og:image:width" content="{width}">
<meta property="og:image:height" content="{height}">
<meta property="og:url" content="{url}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="{title}">
<meta name="twitter:description" content="{description}">
<meta name="twitter:image" content="{image}">
</head><body><h1>{title}</h1><p>{description}</p><img src="{image}" alt="{title}" width="{width}" height="{height}">
<p><a href="{join}">Join the competition</a></p></body></html>
"""


def _page(path: str, title: str, ref: str | None, event_id: str) -> str:
    query = f"?ref={ref}" if ref and _REFERRAL.match(ref) else ""
    return _PAGE.format(
        title=escape(title),
        description=escape("Arena trading competition"),
        image=escape(f"{_base()}{path}"),
        url=escape(f"{_base()}{path.rsplit('/', 1)[0]}{query}"),
        join=escape(f"{_base()}/events/{quote(event_id)}{query}"),
        width=share_card.WIDTH,
        height=share_card.HEIGHT,
    )


def rank_card_page(handle: str, event_id: str, ref: str | None) -> str:
    """The public page of a trader's card; `ref` (a referral code) is carried to the join link."""
    _, title = _rank_card(handle, event_id)
    return _page(f"/api/share/traders/{handle}/events/{quote(event_id)}/card.png", title, ref, event_id)


def podium_card_page(event_id: str, ref: str | None) -> str:
    _, title = _podium_card(event_id)
    return _page(f"/api/share/events/{quote(event_id)}/podium.png", title, ref, event_id)


# ------------------------------------------------------------------------------------------------ referrals


def record_join(user_id: str, event_id: str, ref: str | None) -> bool:
    """At join (arena/services/participation.py): the event joined (for profiles) and, for a known referral code
    of someone else, the referral. Idempotent: an invitee counts once, whatever they join later; True when
    this join counted one."""
    if not settings().community_secret:
        return False
    now = clock.now()
    store.record_joined(user_id, event_id, now)
    store.put_handle(rules.handle(settings().community_secret, user_id), user_id)
    if not ref or not _REFERRAL.match(ref):
        return False
    referrer = store.referrer_of_code(ref)
    if referrer is None or referrer == user_id:
        return False
    return store.record_referral(user_id, referrer, event_id, now)


def referral_counts(principal: Principal, event_id: str) -> ReferralCounts:
    """Admins and the event's managers: how many invitees joined this event through whose links."""
    event_service.require_manager(principal, event_service.load(event_id))
    rows = sorted(store.referral_counts(event_id), key=lambda r: (-r.count, r.referrer))
    return ReferralCounts(
        event_id=event_id,
        total=sum(r.count for r in rows),
        referrers=[ReferralRow(referrer=r.referrer, referrals=r.count) for r in rows],
    )
