"""Copies of a video or audio file for the browser, made from decoded pixels and
samples only, so no tag of the original goes over: a small H.264/AAC MP4 (an AAC M4A for
audio) and an audio file's waveform. Decodes hostile bytes: run only in the limited
child (``evidence.files.sandbox``). No Django here.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageDraw

from evidence.files import imaging
from evidence.files.media import (
    MAX_FRAME_PIXELS,
    MediaFailed,
    jpeg,
    open_input,
    rate,
    upright_angle,
    why,
)

PLAYABLE_HEIGHT = 720


# --- A playable copy ------------------------------------------------------------------------


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _video_graph(stream, first, height_limit: int):
    rotation = upright_angle(first.rotation)
    width, height = first.width, first.height
    if rotation in (90, 270):
        width, height = height, width
    ratio = min(1.0, height_limit / min(width, height), height_limit * 16 / 9 / max(width, height))
    size = (_even(width * ratio), _even(height * ratio))
    graph = av.filter.Graph()
    chain = [graph.add_buffer(template=stream)]
    turn = {90: [("transpose", "cclock")], 270: [("transpose", "clock")]}
    turn[180] = [("hflip", ""), ("vflip", "")]
    for name, argument in turn.get(rotation, []):
        chain.append(graph.add(name, argument))
    chain.append(graph.add("scale", f"{size[0]}:{size[1]}"))
    chain.append(graph.add("format", "yuv420p"))
    chain.append(graph.add("buffersink"))
    graph.link_nodes(*chain).configure()
    return graph, size


def playable(path: Path, out: Path, height: int = PLAYABLE_HEIGHT) -> dict:
    """Write a small copy to ``out`` (H.264 and AAC in MP4; AAC alone for audio) from
    decoded pixels and samples only: no tag, chapter, subtitle or attachment goes over."""
    try:
        source = open_input(path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaFailed(f"not a readable video or audio file ({why(exc)})") from None
    with source:
        video = _decodable(source.streams.video)
        audio = _decodable(source.streams.audio)
        if video is None and audio is None:
            raise _missing([*source.streams.video, *source.streams.audio], "video or audio")
        if (
            video is not None
            and (video.codec_context.width or 0) * (video.codec_context.height or 0)
            > MAX_FRAME_PIXELS
        ):
            raise MediaFailed("the video declares too many pixels per frame; not decoded")
        try:
            return _transcode(source, video, audio, out, height)
        except MemoryError:
            raise  # as in _decoded
        except (av.FFmpegError, ValueError) as exc:
            raise MediaFailed(f"no playable copy could be made ({why(exc)})") from None


def _decodable(streams):
    """The first of ``streams`` (video or audio), if FFmpeg can decode it."""
    return streams[0] if streams and streams[0].codec_context is not None else None


def _missing(streams: list, what: str) -> MediaFailed:
    """Why no ``what`` stream can be decoded: the file has none, or FFmpeg has no decoder
    for its codec."""
    if streams:
        return MediaFailed(f"the file's {what} is in a codec FFmpeg cannot decode")
    return MediaFailed(f"the file has no {what} stream")


def _transcode(source, video, audio, out: Path, height: int) -> dict:
    # bitexact: FFmpeg writes no encoder name or creation time of its own.
    target = av.open(
        str(out),
        "w",
        format="mp4",
        container_options={"movflags": "+faststart", "fflags": "+bitexact"},
    )
    made: dict = {"media_type": "video/mp4" if video is not None else "audio/mp4"}
    with target:
        target.metadata.clear()
        picture: Any = None
        sound: Any = None
        graph: Any = None
        resampler: Any = None
        start: float | None = None
        last_pts = -1
        samples = lost = decoded = 0
        streams = [s for s in (video, audio) if s is not None]
        for packet in source.demux(*streams):
            frames = _decoded(packet)
            lost += frames is None and packet.stream is video
            for frame in frames or []:
                if packet.stream is video:
                    decoded += 1
                    if graph is None:
                        graph, size = _video_graph(video, frame, height)
                        picture = target.add_stream("libx264", rate=round(rate(video) or 25))
                        picture.width, picture.height = size
                        picture.pix_fmt = "yuv420p"
                        picture.time_base = Fraction(1, 90000)
                        picture.codec_context.options = {"preset": "veryfast", "crf": "27"}
                        made["width"], made["height"] = size
                    if frame.time is None:
                        continue
                    if start is None:
                        start = frame.time
                    pts = round((frame.time - start) * 90000)
                    if pts <= last_pts:
                        continue
                    last_pts = pts
                    graph.push(frame)
                    shown = graph.pull()
                    shown.pts, shown.time_base = pts, Fraction(1, 90000)
                    target.mux(picture.encode(shown))
                elif packet.stream is audio:
                    if sound is None:
                        layout = "mono" if (audio.codec_context.channels or 1) == 1 else "stereo"
                        sound = target.add_stream("aac", rate=48000, layout=layout)
                        resampler = av.AudioResampler(format="fltp", layout=layout, rate=48000)
                    for piece in resampler.resample(frame):
                        piece.pts, piece.time_base = samples, Fraction(1, 48000)
                        samples += piece.samples
                        target.mux(sound.encode(piece))
        if picture is not None:
            target.mux(picture.encode(None))
        if sound is not None:
            for piece in resampler.resample(None):
                piece.pts, piece.time_base = samples, Fraction(1, 48000)
                samples += piece.samples
                target.mux(sound.encode(piece))
            target.mux(sound.encode(None))
        if picture is None and sound is None:
            raise MediaFailed("no frame or sample could be decoded")
        if picture is not None and lost > decoded:  # (FFmpeg may say so when short of memory)
            raise MediaFailed(
                f"most of the video could not be decoded: {lost} of its packets were lost "
                "(damaged, or short of memory: TRACKER_MEDIA_MEMORY_MB)"
            )
        if video is not None and picture is None:
            made["media_type"] = "audio/mp4"
    return made


def _decoded(packet) -> list | None:
    """The packet's frames; None if it is damaged (the copy goes on without it)."""
    try:
        return packet.decode()
    except MemoryError:
        raise  # the child's limit, not damage: a reason (sandbox), not less output
    except (av.FFmpegError, ValueError):
        return None


# --- Waveform -------------------------------------------------------------------------------

WAVE_WIDTH, WAVE_HEIGHT = imaging.PREVIEW_PX, 300


def waveform(path: Path, out: Path) -> dict:
    """Draw the loudest sample of each slice of the audio; write ``preview.jpg`` and
    ``thumbnail.jpg`` into ``out``."""
    try:
        source = open_input(path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaFailed(f"not a readable audio file ({why(exc)})") from None
    peaks: list[int] = []
    with source:
        if _decodable(source.streams.audio) is None:
            what = "audio" if source.streams.video else "video or audio"  # a video with neither
            raise _missing(list(source.streams.audio), what)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        loudest = counted = 0
        for packet in source.demux(source.streams.audio[0]):
            for frame in _decoded(packet) or []:
                for piece in resampler.resample(frame):
                    for sample in memoryview(bytes(piece.planes[0])).cast("h")[: piece.samples]:
                        loudest = max(loudest, abs(sample))
                        counted += 1
                        if counted == 800:  # a tenth of a second
                            peaks.append(loudest)
                            loudest = counted = 0
        if counted:
            peaks.append(loudest)
    if not peaks:
        raise MediaFailed("no sound could be decoded")
    image = Image.new("RGB", (WAVE_WIDTH, WAVE_HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    per = len(peaks) / WAVE_WIDTH
    middle = WAVE_HEIGHT // 2
    for x in range(WAVE_WIDTH):
        window = peaks[int(x * per) : max(int(x * per) + 1, int((x + 1) * per))]
        level = (max(window) if window else 0) / 32768
        reach = max(1, round(math.sqrt(level) * (middle - 4)))
        draw.line([(x, middle - reach), (x, middle + reach)], fill=(40, 70, 120))
    thumbnail = image.resize(
        (imaging.THUMBNAIL_PX, WAVE_HEIGHT * imaging.THUMBNAIL_PX // WAVE_WIDTH)
    )
    (out / "preview.jpg").write_bytes(jpeg(image))
    (out / "thumbnail.jpg").write_bytes(jpeg(thumbnail))
    return {
        "poster": {
            "preview": [image.width, image.height],
            "thumbnail": [thumbnail.width, thumbnail.height],
        },
        "seconds": round(len(peaks) / 10, 1),
    }
