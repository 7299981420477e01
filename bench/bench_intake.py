"""Intake and image benchmarks (issue: evidence intake and chain of custody).

- ingest of a large local file: hashing throughput against raw hashlib over the
  same file (target >= 0.8), and peak memory (target < +40 MB);
- derivatives of a 24-megapixel JPEG against Pillow's draft()+thumbnail() floor
  (target <= 1.3x) and a naive full decode (target >= 3x faster); peak memory
  (target < +30 MB);
- a 10000 x 10000 TIFF and PNG: time and peak memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path

from bench.harness import Figure, Report, peak_rss_delta_mb, time_it

CHUNK = 1024 * 1024
DATABASE_BOUND = False  # files and pixels; the database adds a few rows per file
SETUP = (
    "import django, os\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tracker.project.settings')\n"
    "django.setup()\n"
    "from pathlib import Path\n"
    "from django.contrib.auth.models import User\n"
    "from evidence import intake, imaging\n"
)


def _big_file(path: Path, size: int) -> None:
    block = os.urandom(CHUNK)
    with path.open("wb") as out:
        for n in range(size // CHUNK):
            # Vary every block so no layer can deduplicate or compress it away.
            out.write(n.to_bytes(8, "little") + block[8:])


def _raw_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _jpeg_24mp(path: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.effect_noise((6000, 4000), 40).convert("RGB")
    draw = ImageDraw.Draw(img)
    for n in range(40):
        draw.rectangle([n * 150, n * 90, n * 150 + 900, n * 90 + 500], fill=(n * 6, 80, 140))
    img.save(path, "JPEG", quality=90)


def run(report: Report, *, scale: str) -> None:
    from django.contrib.auth.models import User

    from evidence import intake
    from evidence.files import imaging, storage

    work = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    size = (1024 if scale == "full" else 256) * CHUNK
    big = work / "big.bin"
    _big_file(big, size)
    user, _ = User.objects.get_or_create(username="bench")
    mb = size / CHUNK

    raw = time_it(lambda: _raw_hash(big), runs=3)

    def stage_only():
        with big.open("rb") as f:
            storage.stage(f).discard()

    staged = time_it(stage_only, runs=3)
    report.add(
        Figure(
            f"intake: hash+copy of {mb:.0f} MiB (staging)",
            mb / staged.median,
            "MiB/s",
            baseline=mb / raw.median,
            baseline_name="raw hashlib MiB/s",
            target="ratio >= 0.8",
            timing=staged,
        )
    )

    # The full path (hash, sniff, store, rows, custody) on distinct files: each run
    # must store a new original, since the same bytes twice are only linked.
    copies = []
    for n in range(5):
        copy = work / f"big-{n}.pdf"
        with big.open("rb") as src, copy.open("wb") as dst:
            dst.write(b"%PDF-1.7\n%" + n.to_bytes(8, "little") + b"\n")
            while chunk := src.read(CHUNK):
                dst.write(chunk)
        copies.append(copy)
    pending = list(copies)

    def full_ingest():
        path = pending.pop(0)
        with path.open("rb") as f:
            intake.ingest(f, filename=path.name, kind="document", by=user)

    def plain_copy():
        target = work / f"copy-{len(list(work.glob('copy-*')))}.bin"  # a new file, as intake
        with big.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
            dst.flush()
            os.fsync(dst.fileno())

    whole = time_it(full_ingest, runs=3)
    copy = time_it(plain_copy, runs=3)
    for label, baseline, name in (
        ("", raw, "raw hashlib MiB/s"),
        (" vs a plain copy", copy, "MiB/s copy+fsync, the disk's floor"),
    ):
        report.add(
            Figure(
                f"intake: full ingest of {mb:.0f} MiB{label}",
                mb / whole.median,
                "MiB/s",
                baseline=mb / baseline.median,
                baseline_name=name,
                timing=whole,
            )
        )
    memory = peak_rss_delta_mb(
        "u, _ = User.objects.get_or_create(username='bench-mem')\n"
        f"with open({str(pending[0])!r}, 'rb') as f:\n"
        "    intake.ingest(f, filename='big-mem.pdf', kind='document', by=u)\n",
        setup=SETUP,
    )
    report.add(Figure(f"intake: peak memory, {mb:.0f} MiB file", memory, "MB", target="< +40 MB"))
    for path in copies:
        path.unlink()

    photo = work / "24mp.jpg"
    _jpeg_24mp(photo)

    def floor():
        from PIL import Image

        with Image.open(photo) as img:
            ratio = imaging.DRAFT_PX / max(img.size)
            img.draft("RGB", (int(img.width * ratio), int(img.height * ratio)))
            img.load()
            img.thumbnail((imaging.PREVIEW_PX, imaging.PREVIEW_PX))

    def naive():
        from PIL import Image

        with Image.open(photo) as img:
            img.load()
            img.resize((1600, 1067)).save(io.BytesIO(), "JPEG")

    ours = time_it(lambda: imaging.make_derivatives(photo), runs=5)
    base = time_it(floor, runs=5)
    slow = time_it(naive, runs=3)
    report.add(
        Figure(
            "derivatives: 24 MP JPEG",
            ours.median * 1000,
            "ms",
            baseline=base.median * 1000,
            baseline_name="ms draft+thumbnail floor",
            target="ratio <= 1.3",
            timing=ours,
        )
    )
    report.add(
        Figure(
            "derivatives: 24 MP JPEG vs naive decode",
            ours.median * 1000,
            "ms",
            baseline=slow.median * 1000,
            baseline_name="ms full decode+resize",
            target="ratio <= 0.33 (3x faster)",
            timing=ours,
        )
    )
    report.add(
        Figure(
            "derivatives: 24 MP JPEG peak memory",
            peak_rss_delta_mb(f"imaging.make_derivatives(Path({str(photo)!r}))", setup=SETUP),
            "MB",
            target="< +30 MB",
        )
    )

    from PIL import Image

    for fmt, suffix in (("TIFF", "tif"), ("PNG", "png")):
        scene = work / f"scene.{suffix}"
        Image.effect_noise((10000, 10000), 30).save(scene, fmt)
        t = time_it(lambda s=scene: imaging.make_derivatives(s), runs=3)
        report.add(Figure(f"derivatives: 10000x10000 {fmt}", t.median * 1000, "ms", timing=t))
        report.add(
            Figure(
                f"derivatives: 10000x10000 {fmt} peak memory",
                peak_rss_delta_mb(f"imaging.make_derivatives(Path({str(scene)!r}))", setup=SETUP),
                "MB",
                target="near one 100 MB greyscale buffer",
            )
        )
