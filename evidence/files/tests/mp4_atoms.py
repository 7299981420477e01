"""MP4 files rewritten by hand for the hostile-media tests: the atom tree (``parse``,
``build``, ``box``) and an H.264 sequence parameter set that claims another size. Only
what ``test_hostile_media`` needs: the containers and sample entries ``demo.clips``
writes, x264's SPS.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# --- MP4 atoms, by hand ------------------------------------------------------------------

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta"}
FIELDS_BEFORE_CHILDREN = {b"stsd": 8, b"avc1": 78}  # a full box's count; a sample entry


@dataclass
class Atom:
    kind: bytes
    head: bytes  # a leaf's whole body; a container's fields before its children
    children: list[Atom] | None = None

    def find(self, kind: bytes):
        for child in self.children or []:
            if child.kind == kind:
                yield child
            yield from child.find(kind)

    def first(self, kind: bytes) -> Atom:
        return next(self.find(kind))

    def put(self, at: int, fmt: str, *values) -> None:
        self.head = (
            self.head[:at] + struct.pack(fmt, *values) + self.head[at + struct.calcsize(fmt) :]
        )


def parse(data: bytes) -> list[Atom]:
    atoms, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + size]
        if kind in CONTAINERS or kind in FIELDS_BEFORE_CHILDREN:
            skip = FIELDS_BEFORE_CHILDREN.get(kind, 0)
            atoms.append(Atom(kind, body[:skip], parse(body[skip:])))
        else:
            atoms.append(Atom(kind, body))
        at += size
    return atoms


def build(atoms: list[Atom]) -> bytes:
    out = b""
    for atom in atoms:
        body = atom.head + (build(atom.children) if atom.children is not None else b"")
        out += box(atom.kind, body)
    return out


def box(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I4s", len(body) + 8, kind) + body


def tree(data: bytes) -> Atom:
    return Atom(b"file", b"", parse(data))


def rewritten(data: bytes, change) -> bytes:
    root = tree(data)
    change(root)
    return build(root.children)


# --- An H.264 SPS that claims another size ----------------------------------------------


def sps_sized(nal: bytes, width: int, height: int) -> bytes:
    """x264's sequence parameter set (High profile, frame MBs only) rewritten to declare
    ``width`` x ``height`` (multiples of 16) with no cropping; the rest copied bit by bit."""
    bits = "".join(f"{b:08b}" for b in nal[1:].replace(b"\x00\x00\x03", b"\x00\x00"))
    at = 0

    def u(n: int) -> int:
        nonlocal at
        at += n
        return int(bits[at - n : at], 2)

    def ue() -> int:
        zeros = bits.index("1", at) - at
        return u(2 * zeros + 1) - 1

    assert u(8) == 100  # High profile (x264's default)
    u(16), ue()  # constraints, level; the set's id
    assert ue() == 1  # 4:2:0
    ue(), ue(), u(1)  # bit depths, transform bypass
    assert u(1) == 0  # no scaling matrix
    ue()  # log2 of the largest frame number
    order = ue()
    assert order in (0, 2)
    if order == 0:
        ue()  # the size of its least significant bits
    ue(), u(1)  # reference frames, gaps allowed
    before = bits[:at]
    ue(), ue()  # width and height in macroblocks, minus one
    assert u(1) == 1  # frame macroblocks only
    direct = bits[at]
    u(1)
    if u(1):  # cropping
        ue(), ue(), ue(), ue()
    rest = bits[at:].rstrip("0")[:-1]  # up to the stop bit

    def golomb(value: int) -> str:
        return f"{value + 1:b}".zfill(2 * len(f"{value + 1:b}") - 1)

    out = before + golomb(width // 16 - 1) + golomb(height // 16 - 1) + "1" + direct + "0"
    out += rest + "1"
    out += "0" * (-len(out) % 8)
    raw = bytes(int(out[i : i + 8], 2) for i in range(0, len(out), 8))
    escaped, zeros = bytearray(), 0
    for byte in raw:  # emulation prevention
        if zeros >= 2 and byte <= 3:
            escaped.append(3)
            zeros = 0
        escaped.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return nal[:1] + bytes(escaped)


def claiming_size(data: bytes, width: int, height: int) -> bytes:
    """The clip with its track header, sample entry and SPS all declaring width x height
    (the 16-bit and 16.16 fields hold 65,535 at most)."""

    def change(root: Atom) -> None:
        fit_w, fit_h = min(width, 65535), min(height, 65535)
        root.first(b"tkhd").put(76, ">II", fit_w << 16, fit_h << 16)
        root.first(b"avc1").put(24, ">HH", fit_w, fit_h)
        avcc = root.first(b"avcC")
        (length,) = struct.unpack(">H", avcc.head[6:8])
        sps = sps_sized(avcc.head[8 : 8 + length], width, height)
        avcc.head = avcc.head[:6] + struct.pack(">H", len(sps)) + sps + avcc.head[8 + length :]

    return rewritten(data, change)
