"""Share cards, pure: the lines a card shows (a trader's rank, percentile, score and prize in an event; an event's
podium) and the PNG they render to (Pillow, 1200 x 630: the Open Graph / X large-image size).

The font is Pillow's own (ImageFont.load_default(size=...): Aileron Regular, bundled with Pillow, rendered by
FreeType), so the layer ships no font file. A card holds only what it is given: the service leaves out a hidden
prize and gives the anonymised name of a trader without a public profile.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
BACKGROUND = (17, 24, 39)
ACCENT = (250, 204, 21)
TEXT = (243, 244, 246)
MARGIN = 64
TITLE_SIZE, BIG_SIZE, LINE_SIZE = 44, 72, 40


@dataclass(frozen=True)
class Line:
    y: int
    text: str
    size: int
    colour: tuple[int, int, int] = TEXT


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _money(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


def rank_lines(
    event_name: str,
    trader_name: str,
    rank: int | None,
    total: int,
    top_percent: Decimal | None,
    score: Decimal,
    prize: str | None,
) -> list[Line]:
    """A trader's card. `prize` is None when there is none or the trader hid it: then no prize line at all."""
    lines = [
        Line(56, event_name, TITLE_SIZE, ACCENT),
        Line(140, trader_name, LINE_SIZE),
        Line(230, f"Rank #{rank} of {total}" if rank is not None else "Not ranked yet", BIG_SIZE),
    ]
    if top_percent is not None:
        lines.append(Line(340, f"Top {top_percent}%", LINE_SIZE))
    lines.append(Line(410, f"Score {_money(score)}", LINE_SIZE))
    if prize is not None:
        lines.append(Line(480, f"Prize {prize}", LINE_SIZE, ACCENT))
    return lines


def podium_lines(event_name: str, podium: list[tuple[int, str, Decimal]]) -> list[Line]:
    """An event's podium: up to three (rank, name, score)."""
    lines = [Line(56, event_name, TITLE_SIZE, ACCENT), Line(140, "Podium", BIG_SIZE)]
    for i, (rank, name, score) in enumerate(podium[:3]):
        lines.append(Line(260 + i * 90, f"#{rank}  {name}  {_money(score)}", LINE_SIZE))
    return lines


def draw(lines: list[Line]) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, HEIGHT - 16, WIDTH, HEIGHT), fill=ACCENT)
    for line in lines:
        pen.text((MARGIN, line.y), line.text, font=_font(line.size), fill=line.colour)
    return image


def render(lines: list[Line]) -> bytes:
    out = io.BytesIO()
    draw(lines).save(out, format="PNG", optimize=True)
    return out.getvalue()
