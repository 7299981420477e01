"""Hostile video and audio (issue 19) through the real intake and its background jobs.

Every file is made here: a clip from ``demo.clips`` (PyAV) whose MP4 atoms are then
rewritten by hand (``struct``), or bytes written out whole. Each goes through
``intake.ingest`` as a video (or audio) upload, and its jobs (poster and keyframes or
waveform; the playable copy) run on commit, each in the limited child
(``evidence.files.sandbox``). Each file ends in exactly the outcome written next to it:

- ``refused``: a clear message at intake, and nothing stored (no row, no file, no job);
- ``flagged``: the original kept byte for byte; ``derivative_problem`` and/or
  ``playable_problem`` say why, and nothing of that kind was made; both jobs ``done``
  (a reason is an answer, not a crash to retry);
- ``derived``: poster, keyframes and playable copy made as for any clip.

Beyond ``CASES``: a size over ``media.MAX_FRAME_PIXELS`` is never decoded, FFmpeg's
probing included; 10 hours claimed by a 4-second file cost 4 seconds of work; a turned
phone clip is stored upright; a job over the child's memory, CPU or wall-clock limit
ends as a reason, and the worker (this process) is unharmed.

Elsewhere: a clip turned 90 or 270 degrees, upright in the child,
``evidence/files/tests/test_media.py::test_keyframes_and_copy_of_a_turned_phone_are_upright``;
a location tag ``+999.0+999.0/`` kept as text, refused as coordinates,
``evidence/tests/test_video_evidence.py::test_a_garbage_location_is_text_not_a_claimed_place``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import pytest
from django.conf import settings as django_settings

from demo import clips
from evidence import intake
from evidence.files import media, storage
from evidence.files.tests.mp4_atoms import Atom, box, build, claiming_size, parse, rewritten
from evidence.models import Derivative, EvidenceItem, VideoMetadata
from evidence.tests.intake_helpers import assert_nothing_stored
from tracker.models import Job

pytestmark = pytest.mark.django_db

TEN_HOURS = 10 * 3600
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
NOT_READABLE = "Invalid data found when processing input"
NEITHER = "the file has no video or audio stream"
UNREADABLE = f"not a readable video or audio file ({NOT_READABLE})"


# --- The hostile files --------------------------------------------------------------------


@functools.cache
def clip(**options) -> bytes:
    return clips.video(**{"seconds": 2, "audio": False, **options})


def moov_at(data: bytes) -> int:
    return data.index(b"moov") - 4


def ten_hours_claimed() -> bytes:
    """A 4-second clip whose movie, track and media headers, edit list and last sample
    say 10 hours, padded to about 1 MB."""

    def change(root: Atom) -> None:
        movie = root.first(b"mvhd")
        (movie_scale,) = struct.unpack(">I", movie.head[12:16])
        movie.put(16, ">I", TEN_HOURS * movie_scale)
        for trak in root.find(b"trak"):
            trak.first(b"tkhd").put(20, ">I", TEN_HOURS * movie_scale)
            for edit in trak.find(b"elst"):
                edit.put(8, ">I", TEN_HOURS * movie_scale)
            header = trak.first(b"mdhd")
            (scale,) = struct.unpack(">I", header.head[12:16])
            header.put(16, ">I", TEN_HOURS * scale)
            times = trak.first(b"stts")
            (count,) = struct.unpack(">I", times.head[4:8])
            runs = [struct.unpack(">II", times.head[8 + 8 * i : 16 + 8 * i]) for i in range(count)]
            (last, delta), before = runs[-1], sum(n * d for n, d in runs) - runs[-1][1]
            runs[-1:] = [(last - 1, delta)] * (last > 1) + [(1, TEN_HOURS * scale - before)]
            times.head = times.head[:4] + struct.pack(">I", len(runs))
            times.head += b"".join(struct.pack(">II", *run) for run in runs)
        root.children.append(Atom(b"free", bytes(1 << 20)))  # after moov: no offset moves

    return rewritten(clips.video(seconds=4), change)


def without_video_samples(data: bytes) -> bytes:
    """The video track kept (codec, size) with empty sample tables: a zero-length stream."""

    def change(root: Atom) -> None:
        for trak in root.find(b"trak"):
            if trak.first(b"hdlr").head[8:12] == b"vide":
                for table in trak.first(b"stbl").children:
                    if table.kind != b"stsd":
                        table.head = bytes(12 if table.kind == b"stsz" else 8)

    return rewritten(data, change)


def chunks_at_the_start(data: bytes) -> bytes:
    def change(root: Atom) -> None:
        offsets = root.first(b"stco")
        (count,) = struct.unpack(">I", offsets.head[4:8])
        offsets.head = offsets.head[:8] + bytes(4 * count)  # every sample is the header

    return rewritten(data, change)


def junk_after_the_first_frame(data: bytes) -> bytes:
    """Every sample but the first (a keyframe) overwritten with random bytes."""

    def change(root: Atom) -> None:
        (first_size,) = struct.unpack(">I", root.first(b"stsz").head[12:16])
        (first_at,) = struct.unpack(">I", root.first(b"stco").head[8:12])
        at = 0
        for atom in root.children:
            if atom.kind == b"mdat":
                keep = first_at + first_size - at - 8
                atom.head = atom.head[:keep] + random.Random(5).randbytes(len(atom.head) - keep)
            at += len(build([atom]))

    return rewritten(data, change)


def nested(depth: int) -> bytes:
    inner = b""
    for level in range(depth):
        inner = box(b"trak" if level % 2 else b"udta", inner)
    return clip()[:32] + box(b"moov", inner)


def matroska_with_a_font_only() -> bytes:
    """Fonts and subtitles, as an anime release carries them; no picture, no sound."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "fonts.mkv"
        with av.open(str(path), "w", format="matroska") as out:
            out.add_attachment("DejaVuSans.ttf", "font/ttf", b"\x00\x01\x00\x00" + bytes(4000))
            lines = out.add_mux_stream("subrip")
            for n in range(3):
                packet = av.Packet(b"line %d" % n)
                packet.stream, packet.time_base = lines, Fraction(1, 1000)
                packet.pts = packet.dts = n * 1000
                packet.duration = 900
                out.mux(packet)
        return path.read_bytes()


def mp4_with_telemetry_only() -> bytes:
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "telemetry.mp4"
        with av.open(str(path), "w", format="mp4") as out:
            data = out.add_data_stream("bin_data")
            for n in range(5):
                packet = av.Packet(b"GPS %d" % n)
                packet.stream, packet.pts, packet.dts = data, n * 1000, n * 1000
                out.mux(packet)
        return path.read_bytes()


JUNK = random.Random(19).randbytes(40_000)
WAV_FORMAT = struct.pack("<IHHIIHH", 16, 1, 65535, 0xFFFFFFFF, 0xFFFFFFFF, 65535, 16)
POINTS_BACK = struct.pack(">I4sq", 1, b"trak", -16)  # a 64-bit size of minus 16 bytes


@dataclass
class Hostile:
    make: object  # () -> bytes
    outcome: str  # "refused", "flagged" or "derived"
    says: str = ""  # the refusal, or the derivatives' problem ("" if they were made)
    playable: str = ""  # the playable copy's problem ("" if it was made)
    kind: str = "video"
    claims: dict = field(default_factory=dict)  # what VideoMetadata records


UNREADABLE_VIDEO = (f"not a readable video ({NOT_READABLE})", UNREADABLE)
UNREADABLE_AUDIO = (f"not a readable audio file ({NOT_READABLE})", UNREADABLE)
NO_STREAM = (NEITHER, NEITHER)
UNDECODED = ("no keyframe could be decoded", "no frame or sample could be decoded")
WAV = b"RIFF\xff\xff\xff\xffWAVE"
CASES = {
    "moov-missing.mp4": Hostile(
        lambda: build([a for a in parse(clip()) if a.kind != b"moov"]), "flagged", *UNREADABLE_VIDEO
    ),
    "moov-cut-off.mp4": Hostile(lambda: clip()[: moov_at(clip()) + 300], "flagged", *NO_STREAM),
    # Past FFmpeg's own ceiling: it takes no size from such an SPS at all.
    "100000x100000.mp4": Hostile(
        lambda: claiming_size(clip(), 100_000, 100_000),
        "flagged",
        "the video stream declares no picture size",
        "no frame or sample could be decoded",
        claims={"video_codec": "h264", "width": None, "height": None},
    ),
    # Over MAX_FRAME_PIXELS, under FFmpeg's ceiling: refused before any decoding, FFmpeg's
    # probing at open included (see test_a_size_over_the_limit_is_never_decoded).
    "12000x12000.mp4": Hostile(
        lambda: claiming_size(clip(), 12_000, 12_000),
        "flagged",
        "the video declares 12000 x 12000 pixels per frame; not decoded",
        "the video declares too many pixels per frame; not decoded",
        claims={"width": 12_000, "height": 12_000},  # what the file says, as its claim
    ),
    "fonts-and-subtitles.mkv": Hostile(matroska_with_a_font_only, "flagged", *NO_STREAM),
    "telemetry-only.mp4": Hostile(mp4_with_telemetry_only, "flagged", *NO_STREAM),
    "60000-nested-atoms.mp4": Hostile(lambda: nested(60_000), "flagged", *NO_STREAM),
    "size-points-back.mp4": Hostile(
        lambda: clip()[:32] + box(b"moov", box(b"mvhd", bytes(100)) + POINTS_BACK),
        "flagged",
        *NO_STREAM,
    ),
    # FFmpeg stops at 1,000 streams (and calls it an allocation failure).
    "200000-tracks.mp4": Hostile(
        lambda: clip()[:32] + box(b"moov", box(b"trak") * 200_000),
        "flagged",
        "not a readable video (",
        "not a readable video or audio file (",
    ),
    "chunks-point-at-the-header.mp4": Hostile(
        lambda: chunks_at_the_start(clip()), "flagged", *UNDECODED
    ),
    "unknown-codec.mp4": Hostile(
        lambda: clip().replace(b"avc1", b"zzzz"),
        "flagged",
        "the file's video is in a codec FFmpeg cannot decode",
        "the file's video or audio is in a codec FFmpeg cannot decode",
        claims={"video_codec": "unknown"},
    ),
    # Its first frame makes a poster; a copy of one frame of 24 is not the video.
    "junk-after-the-first-frame.mp4": Hostile(
        lambda: junk_after_the_first_frame(clip(gop=1)),
        "flagged",
        "",
        "most of the video could not be decoded: 23 of its packets were lost",
    ),
    "zero-length-video.mp4": Hostile(lambda: without_video_samples(clip()), "flagged", *UNDECODED),
    # The sound is still evidence to hear: its copy is made, the picture's poster is not.
    "zero-length-video-with-sound.mp4": Hostile(
        lambda: without_video_samples(clip(audio=True)), "flagged", UNDECODED[0]
    ),
    "notes.txt.mp4": Hostile(
        lambda: b"Notes, 14 May\n" * 40, "refused", "this file is text/plain."
    ),
    "web-page.mp4": Hostile(lambda: HTML, "refused", "an unrecognised or disallowed format"),
    "web-page.mp3": Hostile(lambda: HTML, "refused", "an unrecognised or disallowed", kind="audio"),
    "empty.mp4": Hostile(lambda: b"", "refused", intake.EMPTY_FILE),
    "web-page-behind-ftyp.mp4": Hostile(lambda: clip()[:32] + HTML, "flagged", *UNREADABLE_VIDEO),
    "junk.wav": Hostile(lambda: WAV + JUNK, "flagged", *UNREADABLE_AUDIO, kind="audio"),
    "65535-channels.wav": Hostile(
        lambda: WAV + b"fmt " + WAV_FORMAT + JUNK, "flagged", *UNREADABLE_AUDIO, kind="audio"
    ),
    "junk-after-id3.mp3": Hostile(
        lambda: b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10) + JUNK,
        "flagged",
        *UNREADABLE_AUDIO,
        kind="audio",
    ),
}


# --- The run ----------------------------------------------------------------------------


def ingest(capture, data: bytes, by, filename: str, kind: str, then=None) -> EvidenceItem:
    """Ingest, then run the jobs it asked for on commit, as a worker would; ``then`` is
    called in between (settings for the jobs only)."""
    with capture(execute=True):
        result = intake.ingest(io.BytesIO(data), filename=filename, kind=kind, by=by)
        if then is not None:
            then()
    result.item.refresh_from_db()
    return result.item


def jobs_of(item: EvidenceItem) -> dict[str, tuple[str, str, str]]:
    found = Job.objects.filter(target=item.code).values_list("kind", "state", "message", "error")
    return {kind: (state, message, error) for kind, state, message, error in found}


def check_kept(item: EvidenceItem, data: bytes, case: Hostile) -> None:
    """The original byte for byte; each job done, with the reason it gave (or its work)."""
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.path_of(item.original_path).read_bytes() == data
    made = set(item.derivatives.values_list("kind", flat=True))
    jobs = jobs_of(item)
    assert {kind: state for kind, (state, _, _) in jobs.items()} == {
        "derivatives": "done",
        "playable": "done",
    }
    assert all(error == "" for _, _, error in jobs.values())
    if case.says:
        assert item.derivative_problem.startswith("no derivative: ")
        assert case.says in item.derivative_problem
        assert case.says in jobs["derivatives"][1]
        assert not made & {"thumbnail", "preview", "keyframe"}
    else:
        assert item.derivative_problem == "" and {"thumbnail", "preview"} <= made
    if case.playable:
        assert item.playable_problem.startswith("no playable copy: ")
        assert case.playable in item.playable_problem
        assert case.playable in jobs["playable"][1]
        assert "playable" not in made
    else:
        assert item.playable_problem == "" and "playable" in made
    assert str(storage.root()) not in item.derivative_problem + item.playable_problem


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_file_is_refused_flagged_or_derived(
    django_capture_on_commit_callbacks, researcher, name
):
    case = CASES[name]
    data = case.make()
    started = time.monotonic()
    if case.outcome == "refused":
        with pytest.raises(intake.IntakeError) as refused:
            ingest(django_capture_on_commit_callbacks, data, researcher, name, case.kind)
        assert case.says in str(refused.value)
        assert_nothing_stored()
        assert not Job.objects.exists()
        return
    item = ingest(django_capture_on_commit_callbacks, data, researcher, name, case.kind)
    assert time.monotonic() - started < 20  # no hang: a few children of a second or less
    check_kept(item, data, case)
    for name, value in case.claims.items():
        assert getattr(VideoMetadata.objects.get(item=item), name) == value, name


# Runs the three operations on a file in the limited child, then prints the child's peak
# resident memory (this process's children: the children's alone).
PEAK = """
import os, resource, sys, tempfile
from pathlib import Path
sys.path[0] = os.getcwd()  # the checkout, for the child too
from evidence.files import sandbox
for operation in ("facts", "keyframes", "playable"):
    with tempfile.TemporaryDirectory() as out:
        try:
            print(sandbox.run(operation, Path(sys.argv[1]), Path(out), memory_mb=2048,
                              cpu_seconds=60, wall_seconds=60), file=sys.stderr)
        except sandbox.media.MediaFailed as failed:
            print(failed, file=sys.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_kib(data: bytes, folder: Path) -> int:
    path = folder / hashlib.sha256(data).hexdigest()
    path.write_bytes(data)
    run = [sys.executable, "-c", PEAK, str(path)]
    done = subprocess.run(run, cwd=django_settings.BASE_DIR, capture_output=True, text=True)
    assert done.returncode == 0 and "ended with code" not in done.stderr, done.stderr[-2000:]
    return int(done.stdout)


def test_a_size_over_the_limit_is_never_decoded(tmp_path):
    """One frame of 12,000 x 12,000 is 216 MB: FFmpeg's probing at open would decode a
    few (media.OPEN_OPTIONS stops it); the child needs no more than for a small clip."""
    assert 100_000 * 100_000 > 12_000 * 12_000 > media.MAX_FRAME_PIXELS > 8000 * 8000
    usual = peak_kib(clip(), tmp_path)
    claimed = peak_kib(claiming_size(clip(), 12_000, 12_000), tmp_path)
    assert claimed < usual + 100 * 1024, f"{claimed} KiB, {usual} KiB for a small clip"


def test_ten_hours_claimed_are_not_ten_hours_of_work(
    django_capture_on_commit_callbacks, researcher
):
    data = ten_hours_claimed()
    assert 1_000_000 < len(data) < 1_300_000
    started = time.monotonic()
    item = ingest(django_capture_on_commit_callbacks, data, researcher, "long.mp4", "video")
    assert time.monotonic() - started < 20
    check_kept(item, data, Hostile(bytes, "derived"))
    assert VideoMetadata.objects.get(item=item).duration == TEN_HOURS  # claimed, recorded
    # Keyframes are looked for every TEN_HOURS / MOST_SCANNED seconds: the first only.
    assert item.derivatives.filter(kind="keyframe").count() == 1
    copy = storage.path_of(item.derivatives.get(kind="playable").path)
    with av.open(str(copy)) as container:
        assert container.duration / 1_000_000 < 10  # the four seconds there are
        assert sum(1 for _ in container.decode(video=0)) == 48


@pytest.mark.parametrize("rotation", [90, 270])
def test_a_turned_phone_clip_is_stored_upright(
    django_capture_on_commit_callbacks, researcher, rotation
):
    data = clips.video(seconds=2, rotation=rotation, audio=False)
    item = ingest(django_capture_on_commit_callbacks, data, researcher, "turned.mp4", "video")
    assert VideoMetadata.objects.get(item=item).rotation == rotation
    sizes = dict.fromkeys(["thumbnail", "preview", "keyframe", "playable"], set())
    for kind, width, height in item.derivatives.values_list("kind", "width", "height"):
        sizes[kind] = sizes[kind] | {(width, height)}
    assert sizes["keyframe"] == sizes["preview"] == sizes["playable"] == {(240, 320)}
    assert all(height > width for width, height in sizes["thumbnail"])


# --- Limits of the child: the worker is unharmed ------------------------------------------


@functools.cache
def costly_clip() -> bytes:
    """12 seconds of keyframes only, each declaring 8000 x 8000 (under MAX_FRAME_PIXELS,
    so decoded): 6 KB that cost the child hundreds of MB and seconds of CPU per job."""
    return claiming_size(clip(seconds=12, gop=1), 8000, 8000)


def sandbox_children() -> list[int]:
    """Processes this one started that are still there."""
    mine = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            mine.append(int(stat.parent.name))
    return mine


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("TRACKER_MEDIA_MEMORY_MB", 256, "not enough memory to decode it (TRACKER_MEDIA_MEMORY"),
        ("TRACKER_MEDIA_CPU_SECONDS", 1, "its CPU-time limit (TRACKER_MEDIA_CPU_SECONDS)"),
        ("TRACKER_MEDIA_WALL_SECONDS", 1, "stopped after 1 s (TRACKER_MEDIA_WALL_SECONDS)"),
    ],
)
def test_a_job_over_a_limit_of_the_child_is_a_reason(
    django_capture_on_commit_callbacks, settings, researcher, setting, value, says
):
    data = costly_clip()
    own_memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    usual = getattr(settings, setting)
    item = ingest(
        django_capture_on_commit_callbacks,
        *(data, researcher, "costly.mp4", "video"),
        then=lambda: setattr(settings, setting, value),  # for the jobs; intake as usual
    )
    assert time.monotonic() - started < 20
    assert VideoMetadata.objects.get(item=item).width == 8000  # read at intake, as usual
    check_kept(item, data, Hostile(bytes, "flagged", says, says))
    # The test process is the worker: it decoded nothing itself and has no child left.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - own_memory < 100 * 1024
    assert sandbox_children() == []
    # And it goes on working: the next upload is derived as usual.
    setattr(settings, setting, usual)
    other = ingest(django_capture_on_commit_callbacks, clip(), researcher, "next.mp4", "video")
    assert other.derivative_problem == "" == other.playable_problem
    assert Derivative.objects.filter(item=other, kind="playable").exists()
