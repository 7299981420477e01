"""A recording as the item's admin page and the incident page show it: the playable copy
(``/evidence/<code>/playable``, never the original) in a ``<video>`` or ``<audio>``, and a
video's keyframes as a strip, each with its time. A keyframe is a link to the frame
itself; in a ``[data-player]`` block that holds the player, a plain click plays the copy
from the frame's time instead (``tracker/js/player.js``). Styled by the admin's
stylesheet and the workspace's (``.evidence-player``, ``.keyframe-strip``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from tracker.display import clock

KEYFRAME_CARD = (
    '<li><a class="keyframe" href="{}" target="_blank" rel="noopener" data-seek="{}">'
    '<img src="{}" alt="Frame at {}" loading="lazy">'
    '<span aria-hidden="true">{}</span></a></li>'
)
PLAYER = (
    '<{} class="evidence-player" controls preload="metadata" src="{}"{}>'
    "Your browser cannot play this copy.</{}>"
)


def player_tag(media_type: str) -> str:
    """``audio`` for an audio copy, else ``video``."""
    return "audio" if media_type.startswith("audio/") else "video"


def player(code: str, tag: str, poster: str = "") -> SafeString:
    """The ``<video>`` (with ``poster``) or ``<audio>`` of the item's playable copy."""
    return format_html(
        PLAYER,
        tag,
        reverse("evidence:playable", args=[code]),
        format_html(' poster="{}"', poster) if tag == "video" and poster else "",
        tag,
    )


def keyframe_strip(code: str, frames: Iterable[tuple[int, float | None]]) -> SafeString:
    """The keyframes ``(position, seconds)`` in the order given, as an ``<ol>``; "" for
    none."""
    cards = []
    for position, seconds in frames:
        url = reverse("evidence:keyframe", args=[code, position])
        time = clock(seconds, tenths=True)
        cards.append((url, "" if seconds is None else f"{seconds:.3f}", url, time, time))
    if not cards:
        return SafeString("")
    return format_html(
        '<ol class="keyframe-strip" aria-label="Keyframes">{}</ol>',
        format_html_join("", KEYFRAME_CARD, cards),
    )
