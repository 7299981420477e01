"""evidence.files.imaging and evidence.files.derivation: previews that carry nothing from the
original but its pixels, damaged images kept and flagged, bombs refused."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image, ImageDraw

from evidence import intake
from evidence.files import imaging, storage
from evidence.models import Derivative, EvidenceItem, SatelliteImage
from evidence.tests.files import make_bomb_png, make_geotiff, make_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest(django_capture_on_commit_callbacks):
    """Ingest, then run what intake defers to the commit (derivatives): each test
    is one transaction that never commits, so run the callbacks as a commit would."""

    def run(data: bytes, user, *, kind="photo", filename="photo.jpg"):
        with django_capture_on_commit_callbacks(execute=True):
            result = intake.ingest(io.BytesIO(data), filename=filename, kind=kind, by=user)
        result.item.refresh_from_db()
        return result

    return run


def derivative_bytes(item: EvidenceItem, kind: str) -> bytes:
    return storage.path_of(item.derivatives.get(kind=kind).path).read_bytes()


def scene(size=(800, 600), seed=1) -> Image.Image:
    """A picture with structure (so perceptual hashes mean something)."""
    img = Image.new("RGB", size, (200, 190, 170))
    draw = ImageDraw.Draw(img)
    for n in range(12):
        x = (n * 97 * seed) % size[0]
        y = (n * 61 * seed) % size[1]
        draw.rectangle([x, y, x + size[0] // 5, y + size[1] // 6], fill=(40 * n % 255, 90, 60))
    return img


def jpeg(img: Image.Image, **save) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", **save)
    return out.getvalue()


def test_derivatives_keep_no_exif_gps_xmp_or_icc(researcher, ingest):
    icc = b"\x00\x00\x02\x0cICC-PROFILE-TEXT-THAT-MUST-NOT-SURVIVE" + b"\x00" * 64
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP-LOCATION</x:xmpmeta>'
    original = Image.open(io.BytesIO(make_jpeg(size=(2400, 1600))))
    data = jpeg(original, exif=original.getexif(), icc_profile=icc, xmp=xmp)
    assert b"SECRET-XMP-LOCATION" in data and b"ICC-PROFILE-TEXT" in data

    item = ingest(data, researcher).item

    for kind, limit in (("thumbnail", 400), ("preview", 1600)):
        raw = derivative_bytes(item, kind)
        with Image.open(io.BytesIO(raw)) as img:
            assert max(img.size) <= limit
            assert dict(img.getexif()) == {}
            assert "icc_profile" not in img.info
            assert "xmp" not in img.info and "exif" not in img.info
        for secret in (b"Exif", b"SECRET-XMP", b"ICC-PROFILE-TEXT", b"Canon", b"EOS 5D"):
            assert secret not in raw


def test_derivative_rows_and_custody(researcher, ingest):
    item = ingest(make_jpeg(size=(3000, 2000)), researcher).item
    rows = {d.kind: d for d in item.derivatives.all()}
    # JPEG draft decoding at 1/2 scale gives 1500 x 1000: within the 1600 px bound.
    assert (rows["preview"].width, rows["preview"].height) == (1500, 1000)
    assert (rows["thumbnail"].width, rows["thumbnail"].height) == (400, 267)
    actions = list(item.custody_events.values_list("action", flat=True))
    assert actions.count("derivative") == 2
    assert item.derivative_problem == ""
    assert len(item.perceptual_hash) == 16


def test_orientation_is_applied_after_reducing(researcher, ingest):
    img = Image.new("RGB", (2000, 1000), (250, 250, 250))
    ImageDraw.Draw(img).rectangle([0, 0, 200, 1000], fill=(0, 0, 0))  # dark left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    item = ingest(jpeg(img, exif=exif), researcher).item
    with Image.open(io.BytesIO(derivative_bytes(item, "preview"))) as preview:
        assert preview.size == (800, 1600)  # portrait, as the photographer saw it
        assert preview.convert("L").getpixel((400, 10)) < 60  # the dark edge is now on top


def test_truncated_jpeg_is_kept_as_evidence_and_flagged(researcher, ingest):
    data = make_jpeg(size=(1200, 900), noise=True)
    truncated = data[: len(data) // 2]
    item = ingest(truncated, researcher).item
    assert item.sha256 and storage.path_of(item.original_path).read_bytes() == truncated
    assert item.derivative_problem.startswith("no derivative:")
    assert "truncated" in item.derivative_problem
    assert not Derivative.objects.filter(item=item).exists()


def test_decompression_bomb_is_refused_and_nothing_stored(researcher, settings, ingest):
    bomb = make_bomb_png()
    assert len(bomb) < 1000
    with pytest.raises(intake.IntakeError, match="megapixels"):
        ingest(bomb, researcher, filename="tiny.png")
    assert not EvidenceItem.objects.exists()
    assert not any(p.is_file() for p in (settings.DATA_DIR / "originals").rglob("*"))


def test_hundred_megapixel_image_is_accepted_with_bounded_previews(researcher, ingest):
    out = io.BytesIO()
    Image.new("L", (10000, 10000), 128).save(out, "PNG")
    item = ingest(out.getvalue(), researcher, filename="big.png").item
    assert item.derivative_problem == ""
    assert item.derivatives.get(kind="preview").width == 1600


def test_near_duplicate_is_flagged_and_different_image_is_not(researcher, ingest):
    base = scene()
    first = ingest(jpeg(base, quality=92), researcher).item
    recompressed = ingest(jpeg(base.resize((640, 480)), quality=60), researcher).item
    different = ingest(jpeg(scene(seed=7)), researcher).item
    assert imaging.hamming(first.perceptual_hash, recompressed.perceptual_hash) <= 3
    assert list(recompressed.near_duplicates.all()) == [first]
    assert list(first.near_duplicates.all()) == [recompressed]  # symmetrical
    assert not different.near_duplicates.exists()


def test_geotiff_footprint_and_time_are_read(researcher, ingest):
    item = ingest(make_geotiff(), researcher, kind="satellite", filename="scene.tif").item
    sat = SatelliteImage.objects.get(item=item)
    assert (sat.west, sat.north) == (Decimal("36.600000"), Decimal("35.900000"))
    assert (sat.east, sat.south) == (Decimal("36.620000"), Decimal("35.890000"))
    assert sat.captured_at.isoformat() == "2019-05-14T08:12:00+00:00"
    assert item.derivatives.filter(kind="thumbnail").exists()


def test_dhash_is_stable_and_distinguishes():
    a, b = scene(), scene(seed=3)
    assert imaging.dhash(a) == imaging.dhash(a.copy())
    assert imaging.hamming(imaging.dhash(a), imaging.dhash(b)) > 10
