"""Video and audio items on the incident page: the card says it is a recording and how
long (as the file's header claims); its lightbox link carries the playable copy, never
the original, and a video's keyframes with their times; nothing of a recording the viewer
may not open; and the page's query count still does not grow with the evidence. The
lightbox itself plays in a browser: ``tests/e2e/test_video_browser.py``."""

from __future__ import annotations

import pytest
from django.urls import reverse

from evidence.models import AudioMetadata, Derivative, EvidenceItem, VideoMetadata
from tracker.display import clock
from tracker.tests.factories import EvidenceItemFactory, EvidenceLinkFactory, IncidentFactory
from tracker.workspace.tests.test_incident_page import QUERIES, incident_with_items, page_of

pytestmark = pytest.mark.django_db

VIDEO, AUDIO = EvidenceItem.Kind.VIDEO, EvidenceItem.Kind.AUDIO


def recording(incident, kind: str = VIDEO, *, n: int = 0, keyframes: int = 3, **fields):
    """A linked video (or audio) item as its jobs leave it: claimed length, poster
    (waveform), playable copy and a video's keyframes, one a second."""
    item = EvidenceItemFactory(
        kind=kind,
        media_type="video/mp4" if kind == VIDEO else "audio/mp4",
        sha256=f"a{n:063x}",  # apart from incident_with_items' photos
        original_path=f"originals/{n}",
        **fields,
    )
    EvidenceLinkFactory(item=item, incident=incident)
    claims = VideoMetadata if kind == VIDEO else AudioMetadata
    claims.objects.create(item=item, duration=42.4 if kind == VIDEO else 3.02)
    made = [("thumbnail", 0, None), ("preview", 0, None), ("playable", 0, None)]
    if kind == VIDEO:
        made += [("keyframe", p, float(p)) for p in range(keyframes)]
    for derivative, position, seconds in made:
        Derivative.objects.create(
            item=item,
            kind=derivative,
            position=position,
            seconds=seconds,
            path=f"x/{item.pk}/{derivative}/{position}",
            media_type=item.media_type if derivative == "playable" else "image/jpeg",
            width=1,
            height=1,
            sha256="0" * 64,
        )
    return item


def card_of(html: str, item) -> str:
    """The card's markup (its keyframes' <li>s included)."""
    return html.split(f'id="evidence-{item.code}"')[1].split('class="inc-card-title"')[0]


def test_a_video_card_says_video_and_its_length_and_carries_the_copy(client, researcher):
    incident = IncidentFactory()
    video = recording(incident)
    client.force_login(researcher)
    html = client.get(page_of(incident)).content.decode()
    card = card_of(html, video)
    assert '<span class="inc-recording"><span aria-hidden="true">▶</span> video 0:42</span>' in card
    assert f'src="{reverse("evidence:thumbnail", args=[video.code])}"' in card  # the poster
    assert f'data-playable="{reverse("evidence:playable", args=[video.code])}"' in card
    assert 'data-playable-tag="video"' in card
    assert f'data-keyframes="keyframes-{video.code}"' in card
    assert f'<template id="keyframes-{video.code}">' in card
    for position, time in enumerate(["0:00.0", "0:01.0", "0:02.0"]):
        frame = reverse("evidence:keyframe", args=[video.code, position])
        assert f'<a class="keyframe" href="{frame}"' in card
        assert f'data-seek="{position}.000"' in card and f'alt="Frame at {time}"' in card
    assert "/original" not in card and "originals/" not in html
    assert "tracker/js/player.js" in html and "<dialog class" in html and "data-player" in html


def test_an_audio_card_plays_its_copy_without_keyframes(client, researcher):
    incident = IncidentFactory()
    audio = recording(incident, AUDIO)
    client.force_login(researcher)
    card = card_of(client.get(page_of(incident)).content.decode(), audio)
    assert "</span> audio 0:03</span>" in card
    assert 'data-playable-tag="audio"' in card
    assert "<template" not in card and "data-keyframes" not in card


def test_a_photo_card_is_not_a_recording(client, researcher):
    incident = IncidentFactory()
    photo = EvidenceItemFactory(sha256="f" * 64)
    EvidenceLinkFactory(item=photo, incident=incident)
    Derivative.objects.create(item=photo, kind="preview", path="x/p", width=1, height=1)
    client.force_login(researcher)
    card = card_of(client.get(page_of(incident)).content.decode(), photo)
    assert "inc-recording" not in card and "data-playable" not in card


def test_a_recording_the_viewer_may_not_open_gives_nothing_away(client, other_researcher):
    incident = IncidentFactory()
    video = recording(incident, is_protected=True)
    client.force_login(other_researcher)
    html = client.get(page_of(incident)).content.decode()
    assert f"/evidence/{video.code}/" not in html
    assert "Restricted: you may not open" in card_of(html, video)


def test_the_length_is_left_out_when_the_header_does_not_claim_one(client, researcher):
    incident = IncidentFactory()
    video = recording(incident)
    VideoMetadata.objects.filter(item=video).update(duration=None)
    client.force_login(researcher)
    card = card_of(client.get(page_of(incident)).content.decode(), video)
    assert "</span> video</span>" in card


@pytest.mark.parametrize("count", [1, 20])
def test_recordings_add_no_query(client, researcher, django_assert_num_queries, count):
    """The page of test_incident_page's query count, with as many videos and audio
    files more, each with its tags, copy and keyframes: the same number of queries."""
    incident = incident_with_items(count, researcher)
    for n in range(count):
        recording(incident, VIDEO, n=2 * n, keyframes=4)
        recording(incident, AUDIO, n=2 * n + 1)
    client.force_login(researcher)
    client.get(page_of(incident))  # warm the content type cache and the session
    with django_assert_num_queries(QUERIES):
        response = client.get(page_of(incident))
    gallery = response.context["evidence"].gallery
    assert len(gallery) == 5 * count
    videos = [view for view in gallery if view.recording == "video"]
    assert len(videos) == count and all(view.length == "0:42" for view in videos)
    assert response.content.decode().count('class="keyframe"') == 4 * count


@pytest.mark.parametrize(
    ("seconds", "tenths", "written"),
    [
        (None, False, "-"),
        (0, False, "0:00"),
        (42.4, False, "0:42"),
        (59.6, False, "1:00"),
        (3723.4, False, "1:02:03"),
        (5.0, True, "0:05.0"),
        (59.96, True, "1:00.0"),  # not "0:60.0"
        (65.54, True, "1:05.5"),
        (3723.4, True, "1:02:03.4"),
    ],
)
def test_a_time_in_a_recording_is_written_as_a_clock(seconds, tenths, written):
    assert clock(seconds, tenths=tenths) == written
