"""Video and audio benchmarks (issue 19).

- the facts of a 1-minute 1080p H.264 file: ours through the sandbox (the production
  path: a limited child process) and ``media.read_facts`` in-process, against ``ffprobe``
  in a subprocess (target <= 1x) and against decoding every frame;
- the keyframes of a 10-minute 1080p file: ``media.keyframes`` (keyframes only are
  decoded) in-process and through the sandbox, against decoding every frame (target
  >= 5x faster); the sandbox child's peak memory against a child that only imports
  PyAV and opens the file (target < +150 MB);
- a playable copy of the 1-minute file through the sandbox, against the clip's own
  duration (2 cores);
- the near-duplicate query (``derivation.similar_recordings``) for a new clip's
  keyframes against 100,000 held videos of 12 keyframes each (20,000 at quick scale;
  target < 50 ms), against comparing every held keyframe in Python. The only figure
  the database decides: the PostgreSQL pass (``--database-only``) runs it alone.

The inputs are made once per run with PyAV (libx264 ultrafast, which puts no keyframe at
a scene change, so the keyframe interval is fixed): scenes of coloured shapes, a new one
every 7 s, moved by a hand's drift of a few pixels every frame, so no frame repeats the
one before. The 1-minute file has 30 fps, a keyframe a second and AAC sound; the
10-minute one 10 fps and a keyframe every 2 s, no sound (about 8 and 50 MB).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Figure, Report, ready_for_queries, time_it

DATABASE_BOUND = True  # the near-duplicate query; the file figures run on the first pass
SIZE = (1920, 1080)
DRIFT = 32  # pixels of margin the picture drifts in
# Videos held for the near-duplicate query: 100,000 take 1-2 minutes to insert here.
HELD = {"quick": 20_000, "full": 100_000}
MEMORY_TARGET_MB = 150
# A child that reports the exit code, peak resident memory and CPU time of the command it
# starts (wait4 gives that child's own rusage; this small process's peak, inherited
# across exec, is below any child that imports PyAV).
PEAK = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "cpu = usage.ru_utime + usage.ru_stime\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, cpu)\n"
)


# --- The inputs ------------------------------------------------------------------------------


def _scene(number: int, size: tuple[int, int]):
    from PIL import Image, ImageDraw

    rng = random.Random(f"bench-video:{number}")
    width, height = size
    image = Image.new("RGB", size, tuple(rng.randrange(30, 220) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 8, width // 2), rng.randrange(height // 8, height // 2)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(300):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(4, 30)
        draw.ellipse((x, y, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def _tone() -> bytes:
    """A 200 Hz tone swelling twice a second, 2 s of it: any 1,024 samples from the first
    second on are sliced without a seam (whole periods in a second)."""
    swell = [0.6 + 0.4 * math.sin(4 * math.pi * n / 48000) for n in range(96000)]
    wave = (8000 * swell[n] * math.sin(400 * math.pi * n / 48000) for n in range(96000))
    return struct.pack("<96000h", *(int(v) for v in wave))


def make_clip(path: Path, *, seconds: int, fps: int, key_seconds: int, sound: bool) -> float:
    """Write a 1080p H.264 clip to ``path``; return the seconds it took."""
    import av

    started = time.perf_counter()
    width, height = SIZE
    out = av.open(str(path), "w", format="mp4")
    with out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = fps * key_seconds
        video.codec_context.options = {"preset": "ultrafast"}
        audio = out.add_stream("aac", rate=48000, layout="mono") if sound else None
        tone, samples = (_tone() if sound else b""), 0
        shown, planes, lines = -1, [], []
        for index in range(seconds * fps):
            if index // (7 * fps) != shown:  # a new scene, drawn with room to drift
                shown = index // (7 * fps)
                still = _scene(shown, (width + 2 * DRIFT, height + 2 * DRIFT))
                frame = av.VideoFrame.from_image(still).reformat(format="yuv420p")
                planes = [bytes(plane) for plane in frame.planes]
                lines = [plane.line_size for plane in frame.planes]
            t = index / fps
            dx = 2 * round(DRIFT / 4 * (1 + math.sin(t * 1.3)))  # even: chroma is halved
            dy = 2 * round(DRIFT / 4 * (1 + math.sin(t * 0.9 + 1)))
            picture = av.VideoFrame(width, height, "yuv420p")
            for k, plane in enumerate(picture.planes):
                w, h, x, y = (
                    (width, height, dx, dy)
                    if k == 0
                    else (width // 2, height // 2, dx // 2, dy // 2)
                )
                pad, source, line = b"\0" * (plane.line_size - w), planes[k], lines[k]
                rows = (source[(r + y) * line + x : (r + y) * line + x + w] + pad for r in range(h))
                plane.update(b"".join(rows))
            picture.pts = index
            out.mux(video.encode(picture))
            while audio is not None and samples < (index + 1) * 48000 // fps:
                piece = av.AudioFrame(format="s16", layout="mono", samples=1024)
                at = samples % 48000 * 2
                piece.planes[0].update(tone[at : at + 2048])
                piece.sample_rate, piece.pts = 48000, samples
                out.mux(audio.encode(piece))
                samples += 1024
        out.mux(video.encode(None))
        if audio is not None:
            out.mux(audio.encode(None))
    return time.perf_counter() - started


def decode_every_frame(path: Path) -> int:
    """The baseline: every frame of the video stream decoded (PyAV's defaults, as ours)."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


def child_usage(command: list[str], *, cwd: Path) -> tuple[float, float]:
    """Peak resident memory (MB) and CPU seconds of ``command`` run as its own process."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(  # noqa: S603 - our interpreter, our module, our files
        [sys.executable, "-c", PEAK, *command],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=env,
    )
    code, peak_kb, cpu = out.stdout.split()
    assert code == "0", f"{command[:5]} ended with {code}"
    return int(peak_kb) / 1024, float(cpu)


# --- Files: facts, keyframes, a playable copy ------------------------------------------------


def _files(report: Report, scale: str, work: Path) -> None:
    from django.conf import settings

    from evidence.files import media, recordings, sandbox

    limits = recordings.limits()

    def fresh() -> Path:
        return Path(tempfile.mkdtemp(dir=work, prefix="out-"))

    short, long = work / "1min-1080p.mp4", work / "10min-1080p.mp4"
    made = make_clip(short, seconds=60, fps=30, key_seconds=1, sound=True)
    print(f"video: made the 1-minute 1080p input in {made:.1f} s", flush=True)
    made = make_clip(long, seconds=600, fps=10, key_seconds=2, sound=False)
    print(f"video: made the 10-minute 1080p input in {made:.1f} s", flush=True)
    for path in (short, long):
        facts = media.read_facts(path)
        print(
            f"video: {path.name}: {path.stat().st_size / 2**20:.0f} MB, {facts.duration} s, "
            f"{facts.width}x{facts.height} {facts.video_codec} {facts.frame_rate} fps, "
            f"{(facts.bit_rate or 0) / 1e6:.1f} Mbit/s, sound: {facts.audio_codec or 'none'}"
        )

    # --- facts ---------------------------------------------------------------------------------
    box = time_it(lambda: sandbox.run("facts", short, fresh(), **limits), runs=7)
    inside = time_it(lambda: media.read_facts(short), runs=7)
    every = time_it(lambda: decode_every_frame(short), runs=3)
    ffprobe = shutil.which("ffprobe")
    probe = None
    if ffprobe:
        command = [ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json"]
        probe = time_it(
            lambda: subprocess.run([*command, str(short)], capture_output=True, check=True),
            runs=7,
        )
    else:
        print("video: ffprobe not found (apt-get install ffmpeg): its baseline is missing")
    for label, ours in (("sandbox (production)", box), ("media.read_facts in-process", inside)):
        if probe is not None:
            report.add(
                Figure(
                    f"video: facts of a 1-minute 1080p file, {label}",
                    ours.median * 1000,
                    "ms",
                    baseline=probe.median * 1000,
                    baseline_name="ms ffprobe in a subprocess",
                    target="ratio <= 1",
                    timing=ours,
                )
            )
        report.add(
            Figure(
                f"video: facts of a 1-minute 1080p file, {label}, vs decoding every frame",
                ours.median * 1000,
                "ms",
                baseline=every.median * 1000,
                baseline_name="ms decoding all 1,800 frames",
                timing=ours,
            )
        )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)}
    imports = [sys.executable, "-c", "import evidence.files.sandbox"]
    starts = [("the sandbox child's start alone (Python and its imports)", imports, env)]
    if ffprobe:
        starts.append(("ffprobe's start alone (ffprobe -version)", [ffprobe, "-version"], None))
    for label, command, environment in starts:
        timing = time_it(
            lambda c=command, e=environment: subprocess.run(  # noqa: S603
                c, capture_output=True, check=True, env=e
            ),
            runs=7,
        )
        report.add(Figure(f"video: {label}", timing.median * 1000, "ms", timing=timing))

    # --- keyframes -----------------------------------------------------------------------------
    count = settings.TRACKER_KEYFRAMES
    ours = time_it(lambda: media.keyframes(long, fresh(), count), runs=3)
    boxed = time_it(
        lambda: sandbox.run("keyframes", long, fresh(), count=count, **limits), runs=3, warmup=0
    )
    every = time_it(lambda: decode_every_frame(long), runs=3, warmup=0)
    for label, timing in (("in-process", ours), ("sandbox (production)", boxed)):
        report.add(
            Figure(
                f"video: {count} keyframes of a 10-minute 1080p file, {label}",
                timing.median,
                "s",
                baseline=every.median,
                baseline_name="s decoding all 6,000 frames",
                target="ratio <= 0.2 (5x faster)",
                timing=timing,
            )
        )
    out = fresh()
    options = json.dumps({"count": count})
    rlimits = [str(limits["memory_mb"] * 2**20), str(limits["cpu_seconds"])]
    sandboxed = [sys.executable, "-m", "evidence.files.sandbox"]
    peak, _ = child_usage(
        [*sandboxed, "keyframes", str(long), str(out), options, *rlimits], cwd=out
    )
    opened = "import sys, av; av.open(sys.argv[1]).close()"
    floor, _ = child_usage([sys.executable, "-c", opened, str(long)], cwd=out)
    report.add(
        Figure(
            "video: keyframes, the sandbox child's peak memory",
            peak,
            "MB",
            baseline=floor,
            baseline_name="MB a child that imports PyAV and opens the file",
            target=f"< +{MEMORY_TARGET_MB} MB (here +{peak - floor:.0f} MB)",
        )
    )

    # --- a playable copy -----------------------------------------------------------------------
    height = settings.TRACKER_PLAYABLE_HEIGHT
    copies: list[dict] = []
    copy = time_it(
        lambda: copies.append(sandbox.run("playable", short, fresh(), height=height, **limits)),
        runs=3 if scale == "full" else 1,
        warmup=0,
    )
    report.add(
        Figure(
            f"video: playable copy ({copies[0]['width']}x{copies[0]['height']}) of the "
            "1-minute 1080p file, sandbox",
            copy.median,
            "s",
            baseline=60.0,
            baseline_name="s the clip's duration",
            target="ratio: the wall time per second of video (2 cores)",
            timing=copy,
        )
    )
    out, options = fresh(), json.dumps({"height": height})
    peak, cpu = child_usage(
        [*sandboxed, "playable", str(short), str(out), options, *rlimits], cwd=out
    )
    report.add(
        Figure(
            f"video: playable copy, the child's CPU time (limit {limits['cpu_seconds']} s)",
            cpu,
            "s",
            baseline=60.0,
            baseline_name="s the clip's duration",
        )
    )
    report.add(Figure("video: playable copy, the child's peak memory (one run)", peak, "MB"))


# --- The near-duplicate query ----------------------------------------------------------------


def _near(dhash: str, rng: random.Random) -> str:
    """``dhash`` with one or two bits flipped: the same frame re-encoded."""
    value = int(dhash, 16)
    for bit in rng.sample(range(64), rng.randint(1, 2)):
        value ^= 1 << bit
    return f"{value:016x}"


def insert(model, template, rows) -> None:
    """INSERT ``rows`` (dicts of the fields that vary) with ``template``'s other values,
    through generate.fast_insert (one executemany per 5,000 rows). bulk_create compiles a
    statement per 62 keyframe rows on SQLite: 25 s for 10,000 videos here, 3x slower."""
    from bench.generate import fast_insert

    columns = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
    values = [getattr(template, name) for name in columns]
    where = {name: n for n, name in enumerate(columns)}

    def full(row: dict) -> list:
        out = list(values)
        for name, value in row.items():
            out[where[name]] = value
        return out

    fast_insert(model, columns, (full(row) for row in rows))


def _near_duplicates(report: Report, scale: str, work: Path) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.db.models import Max
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from demo import clips
    from evidence.files import derivation, media
    from evidence.models import Derivative, EvidenceItem
    from tracker import codes

    held, rng = HELD[scale], random.Random(19)
    clip = work / "new-clip.mp4"
    clip.write_bytes(
        clips.video(seed="bench-new", seconds=24, size=(640, 360), scene_seconds=2, audio=False)
    )
    frames = work / "new-clip"
    frames.mkdir()
    done = media.keyframes(clip, frames)
    mine = [frame["dhash"] for frame in done["frames"]]
    poster = done["poster"]["dhash"]

    def sha(text: str) -> str:  # unique with the code: another run may share the database
        return hashlib.sha256(f"bench-video {text}".encode()).hexdigest()

    def keyframe_rows(item_id: int, hashes: list[str]):
        for position, dhash in enumerate(hashes):
            yield {
                "item_id": item_id,
                "position": position,
                "path": f"derivatives/bench/{item_id}/keyframe-{position}.jpg",
                "sha256": sha(f"{item_id}:{position}"),
                "seconds": position * 25.0,
                "dhash": dhash,
                **{f"band_{n}": dhash[4 * n : 4 * n + 4] for n in range(4)},
            }

    def item_rows(first: int):
        for n in range(held):
            code = codes.format_code("EV", first + n, 6)
            digest = sha(code)
            own = _near(poster, rng) if n in planted else f"{rng.getrandbits(64):016x}"
            yield {
                "code": code,
                "title": f"held video {n}",
                "original_path": f"originals/{digest[:2]}/{digest[2:4]}/{digest}",
                "original_filename": f"VID_{n:06d}.mp4",
                "size": rng.randint(2_000_000, 900_000_000),
                "sha256": digest,
                "perceptual_hash": own,
                **derivation.bands(own),
            }

    user, _ = User.objects.get_or_create(username="bench-video")
    now = timezone.now()
    planted = {7, held // 2, held - 3}  # re-encoded copies of the new clip
    first = codes.reserve("EV", held)
    started = time.perf_counter()
    with transaction.atomic():
        before = EvidenceItem.objects.aggregate(last=Max("pk"))["last"] or 0
        video = EvidenceItem(kind="video", media_type="video/mp4", created_by=user)
        video.created_at = video.updated_at = video.acquired_at = now
        insert(EvidenceItem, video, item_rows(first))
        ids = dict(EvidenceItem.objects.filter(pk__gt=before).values_list("code", "pk"))
        keyframe = Derivative(kind=Derivative.Kind.KEYFRAME, width=960, height=540, created_at=now)
        insert(
            Derivative,
            keyframe,
            (
                row
                for n in range(held)
                for row in keyframe_rows(
                    ids[codes.format_code("EV", first + n, 6)],
                    [_near(h, rng) for h in mine]
                    if n in planted
                    else [f"{rng.getrandbits(64):016x}" for _ in range(12)],
                )
            ),
        )
    inserted = time.perf_counter() - started
    print(
        f"video: {held:,} videos and {held * 12:,} keyframe rows inserted in {inserted:.1f} s",
        flush=True,
    )
    planted_ids = {ids[codes.format_code("EV", first + n, 6)] for n in planted}
    item = EvidenceItem.objects.create(
        kind=EvidenceItem.Kind.VIDEO,
        title="the new clip",
        media_type="video/mp4",
        sha256=sha(f"new clip after {first}"),
        perceptual_hash=poster,
        created_by=user,
        **derivation.bands(poster),
    )
    insert(Derivative, keyframe, keyframe_rows(item.pk, mine))
    ready_for_queries()

    found = derivation.similar_recordings(item, poster)
    assert planted_ids <= found, f"planted copies not found: {planted_ids - found}"
    with CaptureQueriesContext(connection) as queries:
        derivation.similar_recordings(item, poster)
    query = time_it(lambda: derivation.similar_recordings(item, poster), runs=7)

    def scan() -> set[int]:  # every held keyframe compared, as a first draft would (no bands)
        own = [int(h, 16) for h in mine]
        matched: dict[int, set[int]] = {}
        rows = Derivative.objects.filter(kind=Derivative.Kind.KEYFRAME).exclude(item=item)
        for other, dhash in rows.values_list("item_id", "dhash").iterator(chunk_size=20_000):
            value = int(dhash, 16)
            for index, h in enumerate(own):
                if (h ^ value).bit_count() <= derivation.NEAR_DUPLICATE_BITS:
                    matched.setdefault(other, set()).add(index)
        enough = min(derivation.SAME_CLIP_FRAMES, len(own))
        return {other for other, indexes in matched.items() if len(indexes) >= enough}

    scanned: list[set[int]] = []
    naive = time_it(lambda: scanned.append(scan()), runs=1, warmup=0)
    assert planted_ids <= scanned[0]
    report.add(
        Figure(
            f"video: near-duplicates of a clip ({len(mine)} keyframes) among {held:,} videos "
            f"x 12 keyframes ({len(queries)} queries, {connection.vendor})",
            query.median * 1000,
            "ms",
            baseline=naive.median * 1000,
            baseline_name="ms every keyframe compared in Python",
            target="< 50 ms",
            timing=query,
        )
    )


def run(report: Report, *, scale: str, database_only: bool = False) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    try:
        if not database_only:
            _files(report, scale, work)
        _near_duplicates(report, scale, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
