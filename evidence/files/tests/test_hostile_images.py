"""Hostile images through the real intake, in a process with memory and CPU limits.

Every file is generated here. Each goes through ``intake.ingest`` as a photo upload
and, once committed, through ``derivation.derive`` (intake runs it on commit, as in
the admin's request). A separate interpreter with ``RLIMIT_AS`` and ``RLIMIT_CPU``
stands in for the web worker, so a bomb that got past the checks would kill that
process (or raise MemoryError in it), not the test runner. Each file must end in
exactly the outcome written next to it:

- ``refused``: a clear message, and nothing stored (no row, no original, no staged copy);
- ``flagged``: the original kept byte for byte, no derivative, the reason recorded;
- ``derived``: a valid image under its hostile extras; the derivatives are fresh
  pixels and carry none of them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from PIL import Image

from evidence import intake
from evidence.files import imaging, storage
from evidence.files.tests.test_verify_evidence import database_url
from evidence.models import Derivative, EvidenceItem
from evidence.tests.files import make_bomb_png, make_jpeg, make_png, png_chunk

pytestmark = pytest.mark.django_db(transaction=True)  # committed: the child must see it

MEMORY_LIMIT = 1 << 30  # 1 GiB of address space for the whole child
CPU_SECONDS = 20
HTML = b"<html><script>alert(document.cookie)</script></html>"

# Ingests each file named on the command line as a photo, in its own request-like
# call, and prints one JSON line per file. Anything but a refusal is a crash; an
# error logged by a robust on_commit callback (the derivative step) is reported too.
CHILD = """
import json, logging, resource, sys, traceback
limit, cpu = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
import django
django.setup()
from pathlib import Path
from django.contrib.auth.models import User
from evidence import intake

class Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.seen = []
    def emit(self, record):
        self.seen.append(record.getMessage())

errors = Errors()
logging.getLogger().addHandler(errors)
user = User.objects.get(username=sys.argv[3])
for name in sys.argv[4:]:
    path = Path(name)
    errors.seen.clear()
    report = {"name": path.name}
    try:
        with path.open("rb") as stream:
            result = intake.ingest(stream, filename=path.name, kind="photo", by=user)
        report["stored"] = result.item.code
    except intake.IntakeError as exc:
        report["refused"] = str(exc)
    except BaseException:
        report["crash"] = traceback.format_exc(limit=3)
    report["errors"] = list(errors.seen)
    print(json.dumps(report), flush=True)
"""


# --- The hostile set -------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Hostile:
    data: bytes
    outcome: str  # "refused", "flagged" or "derived"
    says: str  # a phrase the refusal or the flag must contain ("" for derived)


def ihdr(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))


def with_chunk_after_ihdr(png: bytes, chunk: bytes) -> bytes:
    return png[:33] + chunk + png[33:]  # signature (8) + IHDR (25)


def flip_crc(png: bytes, kind: bytes) -> bytes:
    """The PNG with the CRC of its first ``kind`` chunk broken."""
    at = png.find(kind)
    (length,) = struct.unpack(">I", png[at - 4 : at])
    broken = bytearray(png)
    broken[at + 4 + length] ^= 0xFF
    return bytes(broken)


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def looping_exif() -> bytes:
    """An EXIF block whose IFD claims 65,535 entries but holds four: a camera make of
    2 GiB far past the end, Exif and GPS sub-IFDs and the next IFD all pointing back
    at IFD0 (a loop), and an orientation of 65,535 values."""
    entries = [
        (0x010F, 2, 0x7FFFFFFF, 0x7FFFFF00),
        (0x8769, 4, 1, 8),
        (0x8825, 4, 1, 8),
        (0x0112, 3, 0xFFFF, 0x10),
    ]
    ifd = struct.pack("<H", 0xFFFF) + b"".join(struct.pack("<HHLL", *e) for e in entries)
    return b"Exif\x00\x00II*\x00" + struct.pack("<L", 8) + ifd + struct.pack("<L", 8)


def tiff(entries: list[tuple[int, int, int, int]], data: bytes) -> bytes:
    """A little-endian TIFF: header, one IFD at offset 8, then ``data``."""
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHLL", *e) for e in entries)
    return b"II*\x00" + struct.pack("<L", 8) + ifd + b"\x00" * 4 + data


def tiff_data_offset(entries: int) -> int:
    return 8 + 2 + 12 * entries + 4


def absurd_tiff() -> bytes:
    """125 bytes that declare a 1,000,000 x 1,000,000 RGB image in one strip."""
    return tiff(
        [
            (256, 4, 1, 1_000_000),
            (257, 4, 1, 1_000_000),
            (258, 3, 1, 8),
            (259, 3, 1, 1),
            (262, 3, 1, 2),
            (273, 4, 1, tiff_data_offset(9)),
            (277, 3, 1, 3),
            (278, 4, 1, 1_000_000),
            (279, 4, 1, 3),
        ],
        b"\x00\x00\x00",
    )


def many_strips_tiff(strips: int = 1_000_000) -> bytes:
    """A 1-pixel-wide greyscale TIFF with one row per strip: 8 MB of offsets that
    Pillow would turn into hundreds of megabytes of Python objects."""
    offsets_at = tiff_data_offset(8)
    counts_at = offsets_at + 4 * strips
    pixels_at = counts_at + 4 * strips
    return tiff(
        [
            (256, 4, 1, 1),
            (257, 4, 1, strips),
            (258, 3, 1, 8),
            (259, 3, 1, 1),
            (262, 3, 1, 1),
            (273, 4, strips, offsets_at),
            (278, 4, 1, 1),
            (279, 4, strips, counts_at),
        ],
        struct.pack(f"<{strips}L", *([pixels_at] * strips))
        + struct.pack(f"<{strips}L", *([1] * strips))
        + b"\x80",
    )


def absurd_jpeg() -> bytes:
    """A valid small JPEG whose frame header is rewritten to 65,500 x 65,500."""
    data = make_jpeg(size=(16, 16), gps=False)
    sof = data.find(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", 65500, 65500) + data[sof + 9 :]


def absurd_gif() -> bytes:
    screen = struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0)
    return b"GIF89a" + screen + b"\x00" * 6 + b",\x00\x00\x00\x00\xff\xff\xff\xff\x00;"


def hostile_files() -> dict[str, Hostile]:
    photo = make_jpeg(size=(800, 600), noise=True)
    png = make_png((300, 200))
    inflates_to_64_mib = zlib.compress(b"\x00" * (64 << 20), 9)
    # 119.9 megapixels of RGBA (under MAX_PIXELS): 480 MB decoded, from a 0.5 MB file.
    rgba_rows = zlib.compress(b"\x00" * ((10950 * 4 + 1) * 10950), 9)
    return {
        "truncated.jpg": Hostile(photo[: len(photo) // 3], "flagged", "truncated"),
        "truncated.png": Hostile(png[:-30], "flagged", "truncated"),
        "bomb.png": Hostile(make_bomb_png(), "refused", "decompression bomb"),
        "bad-ihdr-crc.png": Hostile(flip_crc(png, b"IHDR"), "flagged", "cannot identify"),
        # Pillow does not check IDAT's CRC: the pixels decode, the file is an image.
        "bad-idat-crc.png": Hostile(flip_crc(png, b"IDAT"), "derived", ""),
        "ztxt-bomb.png": Hostile(
            with_chunk_after_ihdr(png, png_chunk(b"zTXt", b"Comment\x00\x00" + inflates_to_64_mib)),
            "flagged",
            "too large",
        ),
        "iccp-bomb.png": Hostile(
            with_chunk_after_ihdr(png, png_chunk(b"iCCP", b"icc\x00\x00" + inflates_to_64_mib)),
            "flagged",
            "too large",
        ),
        "chunk-of-2-gib.png": Hostile(
            PNG_SIGNATURE + ihdr(30, 20) + struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"A" * 100,
            "flagged",
            "Truncated File Read",
        ),
        "near-limit-rgba.png": Hostile(
            PNG_SIGNATURE
            + ihdr(10950, 10950, colour=6)
            + png_chunk(b"IDAT", rgba_rows)
            + png_chunk(b"IEND", b""),
            "flagged",
            "not enough memory",
        ),
        "looping-exif.jpg": Hostile(
            photo[:2] + jpeg_segment(0xE1, looping_exif()) + photo[2:], "derived", ""
        ),
        "absurd.jpg": Hostile(absurd_jpeg(), "refused", "decompression bomb"),
        "absurd.gif": Hostile(absurd_gif(), "refused", "unrecognised or disallowed format"),
        "absurd.tif": Hostile(absurd_tiff(), "refused", "decompression bomb"),
        "million-strips.tif": Hostile(many_strips_tiff(), "refused", "1,000,000 strips"),
        "html-with-jpeg-magic.jpg": Hostile(
            b"\xff\xd8\xff\xe0" + HTML, "flagged", "Truncated File Read"
        ),
        "empty.jpg": Hostile(b"", "refused", intake.EMPTY_FILE),
        "one-byte.jpg": Hostile(b"\xff", "refused", "A photo must be one of"),
        "polyglot.png": Hostile(png + HTML, "derived", ""),
    }


# --- The run ---------------------------------------------------------------------------


def run_child(user: User, paths: list[Path]) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "TRACKER_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": database_url(),
        "TRACKER_TASKS_BACKEND": "immediate",  # the derivatives in the child, as a command
    }
    args = [str(MEMORY_LIMIT), str(CPU_SECONDS), user.username, *map(str, paths)]
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,  # wall clock: the CPU limit does not count time spent waiting
    )


def stored_files(folder: str) -> list[Path]:
    return [p for p in (Path(settings.DATA_DIR) / folder).rglob("*") if p.is_file()]


def check_no_crash_and_no_error_logged(reports: dict[str, dict]) -> None:
    assert {n: r["crash"] for n, r in reports.items() if "crash" in r} == {}
    assert {n: r["errors"] for n, r in reports.items() if r["errors"]} == {}


def check_outcomes(files: dict[str, Hostile], reports: dict[str, dict]) -> None:
    seen = {}
    for name, report in reports.items():
        if "refused" in report:
            seen[name] = ("refused", report["refused"])
            continue
        problem = EvidenceItem.objects.get(code=report["stored"]).derivative_problem
        seen[name] = ("flagged", problem) if problem else ("derived", "")
    assert {n: o for n, (o, _) in seen.items()} == {n: h.outcome for n, h in files.items()}
    assert {n: said for n, (_, said) in seen.items() if files[n].says not in said} == {}


def check_refused_left_nothing(files: dict[str, Hostile], reports: dict[str, dict]) -> None:
    refused = {hashlib.sha256(h.data).hexdigest() for h in files.values() if h.outcome == "refused"}
    assert not EvidenceItem.objects.filter(sha256__in=refused).exists()
    assert not {p.name for p in stored_files("originals")} & refused
    assert stored_files("staging") == []
    assert EvidenceItem.objects.count() == len(files) - len(refused)


def check_flagged_kept_without_derivatives(files: dict[str, Hostile], reports: dict) -> None:
    derivative_files = {p.name.split(".")[0] for p in stored_files("derivatives")}
    for name, hostile in files.items():
        if hostile.outcome != "flagged":
            continue
        item = EvidenceItem.objects.get(code=reports[name]["stored"])
        assert item.derivative_problem.startswith("no derivative: ")
        assert item.sha256 == hashlib.sha256(hostile.data).hexdigest()
        assert storage.path_of(item.original_path).read_bytes() == hostile.data
        assert not Derivative.objects.filter(item=item).exists()
        assert item.sha256 not in derivative_files


def check_derived_carry_none_of_the_extras(files: dict[str, Hostile], reports: dict) -> None:
    for name, hostile in files.items():
        if hostile.outcome != "derived":
            continue
        item = EvidenceItem.objects.get(code=reports[name]["stored"])
        assert storage.path_of(item.original_path).read_bytes() == hostile.data
        assert {d.kind for d in item.derivatives.all()} == {"thumbnail", "preview"}
        for derivative in item.derivatives.all():
            raw = storage.path_of(derivative.path).read_bytes()
            assert b"<script" not in raw and b"Exif" not in raw
            with Image.open(io.BytesIO(raw)) as img:
                assert img.format == "JPEG" and img.size == (derivative.width, derivative.height)
    looping = EvidenceItem.objects.get(code=reports["looping-exif.jpg"]["stored"])
    assert looping.photo.camera_make == ""  # the 2 GiB camera make was never read


def test_hostile_images_are_refused_flagged_or_derived_in_a_limited_worker(tmp_path):
    """One limited child for the whole set (Django starts once), then every check."""
    user = User.objects.create_user("hostile-uploader")
    files = hostile_files()
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, hostile in files.items():
        (folder / name).write_bytes(hostile.data)

    done = run_child(user, [folder / name for name in files])

    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    reports = {r["name"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert sorted(reports) == sorted(files), done.stderr[-3000:]
    check_no_crash_and_no_error_logged(reports)
    check_outcomes(files, reports)
    check_refused_left_nothing(files, reports)
    check_flagged_kept_without_derivatives(files, reports)
    check_derived_carry_none_of_the_extras(files, reports)


def test_tiff_parts_reads_the_count_without_the_offsets(tmp_path):
    """The pre-check that refuses the million-strip TIFF reads only the directory."""
    path = tmp_path / "scene.tif"
    path.write_bytes(many_strips_tiff(300_000))
    assert imaging.tiff_parts(path) == 300_000
    path.write_bytes(absurd_tiff())
    assert imaging.tiff_parts(path) == 1
    path.write_bytes(make_png())
    assert imaging.tiff_parts(path) == 0
    path.write_bytes(b"II*\x00\xff\xff\xff\x00")  # directory past the end of the file
    assert imaging.tiff_parts(path) == 0
    for cut in (b"II*\x00", b"MM\x00*\x00\x00"):  # a header cut short (found by schemathesis)
        path.write_bytes(cut)
        assert imaging.tiff_parts(path) == 0


def test_a_tiff_header_cut_short_is_kept_as_a_damaged_image_not_a_crash(researcher):
    """It was a server error (the pre-check unpacked the missing offset)."""
    from evidence import intake

    result = intake.ingest(io.BytesIO(b"II*\x00"), filename="scan.tif", kind=None, by=researcher)
    assert result.item.media_type == "image/tiff" and result.item.size == 4
