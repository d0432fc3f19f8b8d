"""Community and sharing: profiles (mine, public ones), follows, share links and referral counts."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from arena.domain import text
from arena.domain.community import AVATAR_COLOURS, Badge
from arena.models.common import ApiModel, DecimalStr, FreeText, UtcDatetime

_LOOKS_ANONYMISED = re.compile(r"(?i)^trader\s+[0-9a-z]{4}$")


def _not_anonymised_looking(value: str) -> str:
    # A chosen name never passes for someone's anonymised one.
    if _LOOKS_ANONYMISED.match(value):
        raise ValueError("must not look like an anonymised name (Trader XXXX)")
    return value


DisplayName = Annotated[str, FreeText(text.DISPLAY_NAME), AfterValidator(_not_anonymised_looking)]


def _known_colour(value: str) -> str:
    if value not in AVATAR_COLOURS:
        raise ValueError(f"must be one of {', '.join(AVATAR_COLOURS)}")
    return value


AvatarColour = Annotated[str, AfterValidator(_known_colour)]


class ProfileUpdate(ApiModel):
    """My public-profile choice; takes effect at once on every public answer."""

    public: bool = Field(description="Opt in: my display name, colour, events and best ranks are public.")
    display_name: DisplayName | None = Field(default=None, description="Required to go public.")
    colour: AvatarColour | None = None
    show_prizes: bool = Field(default=False, description="Prize amounts on my share cards (hidden unless true).")


class Identity(BaseModel):
    handle: str = Field(description="The public handle (profile and share URLs); never the user id.")
    name: str = Field(description="The display name when public, else the anonymised name (Trader XXXX).")
    public: bool
    colour: str
    initials: str


class EventRank(BaseModel):
    event_id: str
    event_name: str
    rank: int | None
    total: int
    score: DecimalStr | None = None


class PublicProfile(BaseModel):
    identity: Identity
    events_joined: int
    best_ranks: list[EventRank] = Field(description="Best first, up to 10.")
    badges: list[Badge]


class MyProfile(BaseModel):
    identity: Identity
    display_name: str | None
    show_prizes: bool
    referral_code: str = Field(description="Add ?ref=<code> to a share link; counted when an invitee joins.")
    updated_at: UtcDatetime | None


class Followed(BaseModel):
    identity: Identity
    ranks: list[EventRank] = Field(description="Their current rank in each event they joined (newest event first).")


class FollowingList(BaseModel):
    items: list[Followed]


class ShareLink(BaseModel):
    url: str = Field(description="The public page (Open Graph and X card tags) chat apps unfurl.")
    image_url: str = Field(description="The PNG card.")


class ReferralRow(BaseModel):
    referrer: str = Field(description="The referrer's user id (admins only).")
    referrals: int


class ReferralCounts(BaseModel):
    event_id: str
    total: int
    referrers: list[ReferralRow]
