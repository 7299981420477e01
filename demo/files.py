"""Deterministic generators for the demo case's evidence files.

Every generator takes a string seed for its own ``random.Random``, so the same
case always produces byte-identical files (and therefore the same SHA-256).
Images are drawn with Pillow and carry a visible "SAMPLE" mark.
"""

from __future__ import annotations

import io
import math
import random
import struct
import textwrap
import wave
from collections.abc import Iterable
from datetime import datetime, timedelta

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps
from PIL.TiffImagePlugin import IFDRational

from demo import data

PHOTO_SIZE = (640, 427)
SATELLITE_PX = 384
SATELLITE_RESOLUTION_M = 0.5
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _mark(img: Image.Image, text: str, *, size: int = 14) -> None:
    """Stamp ``text`` on a dark box in the bottom-left corner."""
    draw = ImageDraw.Draw(img)
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = 6, img.height - (bottom - top) - 12
    draw.rectangle((x - 4, y - 4, x + right - left + 4, y + bottom - top + 6), fill=(20, 20, 20))
    draw.text((x - left, y - top), text, font=font, fill=(255, 255, 255))


def _grain(rng: random.Random, size: tuple[int, int], cells: tuple[int, int]) -> Image.Image:
    """Smooth random texture: a small random tile scaled up."""
    tile = Image.frombytes("RGB", cells, rng.randbytes(cells[0] * cells[1] * 3))
    return tile.resize(size, Image.Resampling.BILINEAR)


# --- Photos -------------------------------------------------------------------------------


def _rational(value: float, denominator: int = 10000) -> IFDRational:
    return IFDRational(round(value * denominator), denominator)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return IFDRational(degrees, 1), IFDRational(minutes, 1), _rational(seconds)


def _offset(moment: datetime) -> str:
    """The UTC offset of an aware datetime as EXIF writes it, e.g. "+03:00"."""
    delta = moment.utcoffset() or timedelta(0)
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def photo_exif(
    *, taken_at: datetime, latitude: float, longitude: float, altitude: float, make: str, model: str
) -> Image.Exif:
    """EXIF with camera, local capture time and its offset, and a GPS position."""
    exif = Image.Exif()
    stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x010F], exif[0x0110], exif[0x0132] = make, model, stamp
    exif[0x0112] = 1  # orientation: upright
    sub = exif.get_ifd(_EXIF_IFD)
    sub[0x9003] = sub[0x9004] = stamp  # DateTimeOriginal, DateTimeDigitized
    sub[0x9011] = _offset(taken_at)  # OffsetTimeOriginal
    gps = exif.get_ifd(_GPS_IFD)
    gps[0] = b"\x02\x03\x00\x00"
    gps[1], gps[2] = ("N" if latitude >= 0 else "S"), _dms(latitude)
    gps[3], gps[4] = ("E" if longitude >= 0 else "W"), _dms(longitude)
    gps[5], gps[6] = (b"\x00" if altitude >= 0 else b"\x01"), _rational(abs(altitude), 10)
    return exif


def _sky(rng: random.Random, width: int, height: int, winter: bool) -> Image.Image:
    top, bottom = (
        ((120, 130, 145), (200, 200, 205)) if winter else ((70, 130, 200), (190, 215, 235))
    )
    gradient = Image.linear_gradient("L").resize((width, height))
    sky = ImageOps.colorize(gradient, top, bottom)
    return sky.rotate(rng.choice((0, 0, 1)), fillcolor=bottom)


def _building(draw: ImageDraw.ImageDraw, rng: random.Random, box, colour) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=colour, outline=(90, 85, 80))
    for wy in range(y0 + 10, y1 - 14, 22):
        for wx in range(x0 + 8, x1 - 12, 20):
            if rng.random() < 0.85:
                draw.rectangle((wx, wy, wx + 9, wy + 12), fill=(40, 45, 55))


def _site_marker(draw: ImageDraw.ImageDraw, target: str, box) -> None:
    """A visual cue for the kind of site hit (sign, dome, awnings, tents...)."""
    x0, y0, x1, y1 = box
    mid = (x0 + x1) // 2
    if target == data.HOSPITAL:
        draw.ellipse((mid - 14, y0 + 6, mid + 14, y0 + 34), fill=(255, 255, 255))
        draw.ellipse((mid - 10, y0 + 10, mid + 8, y0 + 30), fill=(200, 30, 30))
        draw.ellipse((mid - 5, y0 + 10, mid + 11, y0 + 28), fill=(255, 255, 255))
    elif target == data.SCHOOL:
        draw.rectangle((x0, y0 + 4, x1, y0 + 16), fill=(40, 90, 170))
    elif target in (data.MARKET, data.BAKERY):
        for i, x in enumerate(range(x0, x1 - 20, 24)):
            colour = ((200, 60, 40), (230, 180, 40), (60, 140, 70))[i % 3]
            draw.polygon(
                [(x, y1 - 60), (x + 22, y1 - 60), (x + 26, y1 - 44), (x - 4, y1 - 44)], colour
            )
    elif target == data.MOSQUE:
        draw.pieslice((mid - 40, y0 - 40, mid + 40, y0 + 40), 180, 360, fill=(210, 205, 190))
        draw.rectangle((x1 - 12, y0 - 90, x1 - 2, y0), fill=(215, 210, 195))
    elif target == data.CIVDEF:
        draw.rectangle((x0, y0 + 4, x1, y0 + 16), fill=(235, 150, 30))
    elif target == data.WATER:
        draw.rectangle((mid - 30, y0 - 60, mid + 30, y0), fill=(150, 160, 165))


def _tents(draw: ImageDraw.ImageDraw, rng: random.Random, horizon: int, width: int) -> None:
    for row in range(3):
        y = horizon + 30 + row * 45
        for x in range(-20, width, 70 + row * 10):
            x += rng.randint(-8, 8)
            shade = rng.randint(200, 240)
            draw.polygon([(x, y + 40), (x + 30, y), (x + 60, y + 40)], (shade, shade, shade - 20))


def photo_jpeg(
    seed: str,
    *,
    target: str,
    taken_at: datetime,
    latitude: float,
    longitude: float,
    altitude: float,
    make: str,
    model: str,
) -> bytes:
    """A small JPEG of a damaged site with camera EXIF (time with offset, GPS)."""
    rng = random.Random(seed)
    width, height = PHOTO_SIZE
    horizon = rng.randint(150, 200)
    img = Image.new("RGB", PHOTO_SIZE, (150, 135, 110))
    img.paste(_sky(rng, width, horizon, winter=taken_at.month in (11, 12, 1, 2, 3)), (0, 0))
    draw = ImageDraw.Draw(img)
    if target == data.CAMP:
        _tents(draw, rng, horizon, width)
        main = (width // 2 - 90, horizon + 20, width // 2 + 90, horizon + 120)
    else:
        x = rng.randint(-60, 0)
        while x < width:
            w, h = rng.randint(90, 170), rng.randint(90, 190)
            grey = rng.randint(150, 200)
            _building(
                draw, rng, (x, horizon - h + 60, x + w, horizon + 60), (grey, grey - 8, grey - 20)
            )
            x += w + rng.randint(4, 30)
        main = (width // 2 - 100, horizon - 110, width // 2 + 100, horizon + 90)
        _building(draw, rng, main, (rng.randint(190, 215), 190, 170))
    _site_marker(draw, target, main)
    # Damage: a breach in the main structure, rubble at its foot, smoke above.
    cx, cy = rng.randint(main[0] + 40, main[2] - 40), rng.randint(main[1] + 20, main[3] - 30)
    hole = [
        (cx + int(r * math.cos(a)), cy + int(r * 0.8 * math.sin(a)))
        for a, r in ((i * math.pi / 6, rng.randint(18, 45)) for i in range(12))
    ]
    draw.polygon(hole, fill=(25, 22, 20))
    for _ in range(45):
        rx, ry = rng.randint(main[0] - 40, main[2] + 40), rng.randint(main[3] - 10, height - 20)
        s, g = rng.randint(6, 22), rng.randint(70, 160)
        draw.polygon(
            [(rx, ry), (rx + s, ry - s // 2), (rx + s // 2, ry + s // 2)], (g, g - 5, g - 15)
        )
    smoke = Image.new("RGBA", PHOTO_SIZE, (0, 0, 0, 0))
    puffs = ImageDraw.Draw(smoke)
    for i in range(14):
        r = 18 + i * 5
        px, py = cx + rng.randint(-20, 20) + i * 4, cy - 20 - i * 16
        g = rng.randint(60, 110)
        puffs.ellipse((px - r, py - r, px + r, py + r), fill=(g, g, g, 120))
    img = Image.alpha_composite(img.convert("RGBA"), smoke).convert("RGB")
    img = Image.blend(img, _grain(rng, PHOTO_SIZE, (160, 107)), 0.12)
    _mark(img, f"{data.LABEL} - generated demo image - not a real photograph")
    exif = photo_exif(
        taken_at=taken_at,
        latitude=latitude,
        longitude=longitude,
        altitude=altitude,
        make=make,
        model=model,
    )
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70, exif=exif.tobytes())
    return out.getvalue()


# --- Satellite scenes -----------------------------------------------------------------------


def satellite_png(seed: str, *, damaged: bool, captured_at: datetime) -> bytes:
    """A top-down scene of a footprint. The same seed gives the same town; with
    ``damaged`` the centre shows a crater, rubble and scorching."""
    rng = random.Random(seed)
    size = (SATELLITE_PX, SATELLITE_PX)
    img = Image.new("RGB", size, (186, 168, 136))
    img = Image.blend(img, _grain(rng, size, (24, 24)), 0.18)
    draw = ImageDraw.Draw(img)
    for _ in range(6):  # fields and orchards
        x, y = rng.randint(-40, SATELLITE_PX), rng.randint(-40, SATELLITE_PX)
        colour = rng.choice(((120, 130, 80), (150, 140, 95), (105, 115, 70)))
        draw.rectangle((x, y, x + rng.randint(60, 140), y + rng.randint(50, 120)), fill=colour)
    for _ in range(3):  # roads
        if rng.random() < 0.5:
            y = rng.randint(20, SATELLITE_PX - 20)
            draw.line((0, y, SATELLITE_PX, y + rng.randint(-30, 30)), fill=(120, 118, 112), width=7)
        else:
            x = rng.randint(20, SATELLITE_PX - 20)
            draw.line((x, 0, x + rng.randint(-30, 30), SATELLITE_PX), fill=(120, 118, 112), width=7)
    centre = SATELLITE_PX // 2
    for _ in range(70):  # buildings with shadows
        x, y = rng.randint(0, SATELLITE_PX - 20), rng.randint(0, SATELLITE_PX - 20)
        w, h = rng.randint(10, 26), rng.randint(10, 26)
        draw.rectangle((x + 3, y + 3, x + w + 3, y + h + 3), fill=(70, 65, 60))
        draw.rectangle((x, y, x + w, y + h), fill=(rng.randint(205, 235),) * 3)
    draw.rectangle((centre - 28, centre - 22, centre + 31, centre + 25), fill=(70, 65, 60))
    draw.rectangle((centre - 31, centre - 25, centre + 28, centre + 22), fill=(232, 228, 220))
    if damaged:
        harm = random.Random(seed + ":damage")
        scorch = Image.new("RGBA", size, (0, 0, 0, 0))
        ImageDraw.Draw(scorch).ellipse(
            (centre - 60, centre - 50, centre + 55, centre + 60), fill=(30, 25, 20, 110)
        )
        img = Image.alpha_composite(img.convert("RGBA"), scorch).convert("RGB")
        draw = ImageDraw.Draw(img)
        for _ in range(60):
            x, y = centre + harm.randint(-45, 45), centre + harm.randint(-40, 40)
            g = harm.randint(90, 190)
            draw.rectangle((x, y, x + harm.randint(2, 6), y + harm.randint(2, 6)), fill=(g, g, g))
        r = harm.randint(11, 15)
        draw.ellipse(
            (centre - r - 6, centre - r - 6, centre + r + 6, centre + r + 6), (150, 140, 125)
        )
        draw.ellipse((centre - r, centre - r, centre + r, centre + r), fill=(35, 30, 28))
        img = ImageEnhance.Brightness(img).enhance(1.05)
    _mark(img, f"{data.LABEL} imagery {captured_at:%Y-%m-%d %H:%M}Z", size=12)
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=9)
    return out.getvalue()


# --- Web captures, audio, text ------------------------------------------------------------


def web_capture_png(seed: str, *, page: str, posted: str, text: str, url: str) -> bytes:
    """A screenshot-like PNG of a social-media post by a fictional page."""
    rng = random.Random(seed)
    img = Image.new("RGB", (720, 440), (245, 246, 248))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 720, 36), fill=(59, 89, 152))
    draw.text((12, 9), url, font=_font(14), fill=(230, 235, 245))
    hue = rng.randint(60, 200)
    draw.ellipse((20, 52, 68, 100), fill=(hue, 120, 220 - hue // 2))
    draw.text((80, 56), page, font=_font(18), fill=(20, 20, 20))
    draw.text((80, 80), posted, font=_font(13), fill=(110, 110, 110))
    for i, line in enumerate(textwrap.wrap(text, 70)):
        draw.text((20, 116 + i * 22), line, font=_font(16), fill=(30, 30, 30))
    picture = Image.new("RGB", (680, 210), (rng.randint(150, 175), 150, 140))
    scene = ImageDraw.Draw(picture)
    for x in range(0, 680, 60):  # a skyline
        top = rng.randint(90, 150)
        scene.rectangle((x, top, x + 52, 210), fill=(rng.randint(120, 150),) * 3)
    for i in range(10):  # a smoke column
        r, g = 20 + i * 5, rng.randint(60, 110)
        x, y = 340 + rng.randint(-20, 20) + i * 6, 170 - i * 16
        scene.ellipse((x - r, y - r, x + r, y + r), fill=(g, g, g))
    img.paste(picture, (20, 180))
    _mark(img, f"{data.LABEL} web capture - fictional post generated for the demo")
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=9)
    return out.getvalue()


def radio_wav(seed: str, *, seconds: float = 2.5, rate: int = 8000) -> bytes:
    """A tiny mono WAV: radio hiss with a few warning beeps."""
    rng = random.Random(seed)
    beeps = sorted(rng.uniform(0.2, seconds - 0.4) for _ in range(3))
    samples = []
    for n in range(int(seconds * rate)):
        t = n / rate
        value = rng.uniform(-1500, 1500)
        if any(b <= t < b + 0.18 for b in beeps):
            value += 9000 * math.sin(2 * math.pi * 880 * t)
        samples.append(int(max(-32767, min(32767, value))))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return out.getvalue()


def text_document(title: str, fields: Iterable[tuple[str, str]], body: str) -> bytes:
    """A plain-text document with a SAMPLE banner, a header block and wrapped body."""
    lines = [
        f"{data.LABEL} - FICTIONAL DOCUMENT GENERATED FOR THE DEMO CASE. NOT A REAL RECORD.",
        "",
        title.upper(),
        "=" * len(title),
        "",
        *(f"{name}: {value}" for name, value in fields),
        "",
        *textwrap.wrap(body, 78),
        "",
    ]
    return "\n".join(lines).encode("utf-8")
