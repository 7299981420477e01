"""SAMPLE video and audio clips made in code with PyAV (no file is kept in git): a test
pattern in scenes with a moving bar, the tags a phone writes (creation time, place,
device), and a voice-like tone for an interview. The demo's videos and the tests' come
from here."""

from __future__ import annotations

import math
import random
import struct
import tempfile
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

SAMPLE_RATE = 48000


def _scene(seed: str, number: int, size: tuple[int, int]) -> Image.Image:
    """A still of scene ``number``: blocks of colour, different in every scene."""
    rng = random.Random(f"{seed}:{number}")
    width, height = size
    image = Image.new("RGB", size, tuple(rng.randrange(30, 220) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 8, width // 2), rng.randrange(height // 8, height // 2)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def _frame(base: Image.Image, index: int, fps: int, logo: bool, label: str) -> Image.Image:
    image = base.copy()
    draw = ImageDraw.Draw(image)
    width, height = image.size
    x = (index * max(1, width // (fps * 4))) % width  # a bar crossing in four seconds
    draw.rectangle(
        (x, height // 3, x + max(2, width // 40), height // 3 + height // 6), fill="white"
    )
    font = ImageFont.load_default(size=max(10, height // 14))
    draw.text((6, height - height // 10), f"SAMPLE {label}", fill="white", font=font)
    if logo:  # a channel's mark in a corner
        draw.rectangle((width - width // 6, 4, width - 4, 4 + height // 10), fill=(250, 200, 0))
    return image


def video(
    *,
    seed: str = "clip",
    seconds: float = 4.0,
    size: tuple[int, int] = (320, 240),
    canvas: tuple[int, int] | None = None,
    fps: int = 12,
    scene_seconds: float = 1.0,
    skip_scenes: int = 0,
    gop: int | None = None,
    codec: str = "libx264",
    container: str = "mp4",
    tags: dict[str, str] | None = None,
    rotation: int = 0,
    audio: bool = True,
    logo: bool = False,
    label: str = "",
    blank: bool = False,
) -> bytes:
    """A clip of ``seconds`` in scenes of ``scene_seconds`` (the first ``skip_scenes``
    left out: the same clip trimmed at its start), encoded with ``codec`` in
    ``container``, with ``tags`` (``creation_time``, ``location``,
    ``com.apple.quicktime.make``...) and a display ``rotation``. Pictures are drawn on
    ``canvas`` (``size`` if None) and scaled to ``size``: the same clip resized."""
    canvas = canvas or size
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"clip.{container}"
        options = {"movflags": "use_metadata_tags"} if container in ("mp4", "mov") else {}
        out = av.open(str(path), "w", format=container, container_options=options)
        with out:
            out.metadata.update(tags or {})
            stream = out.add_stream(codec, rate=fps)
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            stream.codec_context.gop_size = gop or fps
            # One thread: x264's sliced threads do not always give the same bytes twice,
            # and the demo's files must (each is stored under its hash).
            stream.codec_context.thread_count = 1
            if codec == "libx264":
                # Not ultrafast: it turns off x264's keyframes at scene changes.
                stream.codec_context.options = {"preset": "veryfast"}
            if rotation:
                stream.set_display_rotation(rotation)
            sound = (  # mono, as the interview's: a voice-like tone, half the bytes
                out.add_stream(
                    "aac" if container != "webm" else "libopus", rate=SAMPLE_RATE, layout="mono"
                )
                if audio
                else None
            )
            first = int(skip_scenes * scene_seconds * fps)
            scenes: dict[int, Image.Image] = {}
            for index in range(first, first + int(seconds * fps)):
                number = int(index / (scene_seconds * fps))
                if number not in scenes:
                    scenes = {number: _scene(seed, number, canvas)}
                picture = _frame(scenes[number], index, fps, logo, label)
                if blank:  # a lens cap, a dark room: black throughout
                    picture = Image.new("RGB", canvas)
                if picture.size != size:
                    picture = picture.resize(size, Image.Resampling.BILINEAR)
                out.mux(stream.encode(av.VideoFrame.from_image(picture)))
            out.mux(stream.encode(None))
            if sound is not None:
                _tone(out, sound, seconds)
        return path.read_bytes()


def _tone(out, sound, seconds: float, pitch: float = 220.0) -> None:
    """A rising and falling tone, like a voice's rhythm."""
    size = sound.codec_context.frame_size or 1024
    total = int(seconds * SAMPLE_RATE)
    for start in range(0, total, size):
        frame = av.AudioFrame(format="s16", layout="mono", samples=size)
        samples = []
        for n in range(start, start + size):
            t = n / SAMPLE_RATE
            swell = 0.5 + 0.5 * math.sin(2 * math.pi * 0.7 * t)
            samples.append(int(9000 * swell * math.sin(2 * math.pi * pitch * t)))
        frame.planes[0].update(struct.pack(f"<{size}h", *samples))
        frame.sample_rate, frame.pts = SAMPLE_RATE, start
        out.mux(sound.encode(frame))
    out.mux(sound.encode(None))


def audio(
    *,
    seconds: float = 6.0,
    tags: dict[str, str] | None = None,
    pitch: float = 180.0,
    container: str = "ipod",
) -> bytes:
    """A SAMPLE interview's sound (AAC in M4A; ``container="mp4"``: an MP4 of sound
    alone), with ``tags``."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "interview.m4a"
        out = av.open(
            str(path), "w", format=container, container_options={"movflags": "use_metadata_tags"}
        )
        with out:
            out.metadata.update(tags or {})
            sound = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
            _tone(out, sound, seconds, pitch)
        return path.read_bytes()
