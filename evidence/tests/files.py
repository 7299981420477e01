"""Evidence files generated in code for tests (nothing binary is kept in git)."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

from PIL import Image, TiffImagePlugin

_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_ORIGINAL = 0x9003, 0x9011


# --- Generated files -----------------------------------------------------------------


def make_jpeg(
    *,
    colour: tuple[int, int, int] = (180, 40, 40),
    size: tuple[int, int] = (64, 48),
    make: str = "Canon",
    model: str = "EOS 5D Mark III",
    taken: str = "2019:05:05 10:30:00",
    offset: str = "+03:00",
    gps: bool = True,
    noise: bool = False,
) -> bytes:
    """A JPEG whose EXIF claims a camera, a local time with its offset and a GPS fix."""
    if noise:
        img = Image.frombytes(
            "RGB", size, hashlib.shake_256(repr(colour).encode()).digest(size[0] * size[1] * 3)
        )
    else:
        img = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[_MAKE] = make
    exif[_MODEL] = model
    exif[_ORIENTATION] = 1
    sub = exif.get_ifd(_EXIF_IFD)
    sub[_DATETIME_ORIGINAL] = taken
    sub[_OFFSET_ORIGINAL] = offset
    if gps:
        fix = exif.get_ifd(_GPS_IFD)
        fix[1] = "N"
        fix[2] = (35.0, 49.0, 28.2)  # 35.824500
        fix[3] = "E"
        fix[4] = (36.0, 19.0, 8.4)  # 36.319000
        fix[5] = b"\x00"
        fix[6] = 350.5
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def make_png(size: tuple[int, int] = (30, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A few hundred bytes that declare a huge image (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * (width + 1))  # one row; the declared size is what matters
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def make_geotiff(
    *,
    size: tuple[int, int] = (200, 100),
    west: float = 36.60,
    north: float = 35.90,
    pixel_deg: float = 0.0001,
    stamp: str = "2019:05:14 08:12:00",
) -> bytes:
    """A north-up GeoTIFF in degrees: tie point at the top-left corner, square pixels."""
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[33550] = (pixel_deg, pixel_deg, 0.0)
    info.tagtype[33550] = 12  # DOUBLE
    info[33922] = (0.0, 0.0, 0.0, west, north, 0.0)
    info.tagtype[33922] = 12
    info[0x0132] = stamp
    out = io.BytesIO()
    Image.new("RGB", size, (90, 110, 80)).save(out, "TIFF", tiffinfo=info)
    return out.getvalue()
