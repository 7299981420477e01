"""Check an exported bag with nothing but the bag (``manage.py verify_bag``): no query,
no database, no network. What ``VERIFY.md`` in the bag tells a reader to do by hand:

1. bagit fixity: every payload file against both manifests, nothing missing or added;
2. every custody log: each event's hash recomputed (``custody.payload_digest``) and
   linked to the one before it; each original's SHA-256 against the hash its log
   received;
3. every inclusion proof: the anchored event is in the log, and its leaf and audit
   path lead to the root of an anchor the bag lists (``merkle``);
4. every timestamp: the TSA's token verifies for the root (``timestamping.check``),
   under the CA certificates given (``--tsa-ca``) or, without them, under the one in
   the bag, whose fingerprint is printed to be compared with the TSA's own.

Whatever the bag lists must be there and whatever is there must be listed. Every value
read is checked for its type first: a hostile bag gives ``PROBLEM`` lines, never a
traceback. ``check(path)`` returns the lines to print: what each check proves, and
``PROBLEM`` lines for what failed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bagit
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from evidence.files import merkle, timestamping
from evidence.files.custody import payload_digest
from evidence.files.progress import quiet_info

HEX64 = re.compile(r"^[0-9a-f]{64}$")
CODE = re.compile(r"^[A-Z]{1,8}-[0-9]{1,12}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
# What a hostile record can raise while it is read: a problem, not a traceback.
UNREADABLE = (
    OSError,
    UnicodeError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    RecursionError,
)


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.problems = 0

    def ok(self, line: str) -> None:
        self.lines.append(line)

    def problem(self, line: str) -> None:
        self.lines.append(f"PROBLEM {line}")
        self.problems += 1


@dataclass
class Anchored:
    """An anchor the bag lists, as checked: its root and the timestamps that verified."""

    root: str
    stamps: list[str] = field(default_factory=list)
    used: bool = False


def check(path: Path | str, trusted: list[x509.Certificate] | None = None) -> Report:
    """``trusted``: the TSAs' root certificates to verify tokens under (else the bag's)."""
    report = Report()
    root = Path(path)
    try:
        with quiet_info("bagit"):
            bag = bagit.Bag(str(root))
            bag.validate()
    except (bagit.BagError, bagit.BagValidationError, *UNREADABLE) as exc:
        report.problem(f"bag: {_short(exc)}")
        return report
    version = ".".join(map(str, bag.version_info))
    report.ok(
        f"bag: valid BagIt {version}, {bag.info.get('Payload-Oxum', '?')} (bytes.files); "
        f"every payload file matches {', '.join(bag.algorithms)} manifests"
    )
    data = root / "data"
    try:
        export = _dict(_json(data / "export.json"))
        entries = [_dict(entry) for entry in _list(export["items"])]
        anchoring = _dict(export.get("anchoring", {}))
        listed = [_code(code, "A") for code in _list(anchoring.get("anchors", []))]
    except UNREADABLE as exc:
        report.problem(f"the bag's records cannot be read: export.json: {_short(exc)}")
        return report
    anchors = {code: _anchor(data / "anchors" / code, code, trusted, report) for code in listed}
    codes, proved = [], 0
    for entry in entries:
        try:
            code = _code(entry["code"], "EV")
            codes.append(code)
            proved += _item(data, code, entry, anchors, report)
        except UNREADABLE as exc:
            report.problem(f"the bag's records cannot be read: {_short(exc)}")
    _listed(data, codes, listed, report)
    if anchoring.get("items_anchored", proved) != proved:
        report.problem(
            f"export.json counts {anchoring.get('items_anchored')} items anchored, "
            f"the bag proves {proved}"
        )
    for code, found in anchors.items():
        if found is not None and not found.used:
            report.problem(f"{code}: the bag lists it, but no item's proof names it")
    return report


# --- Reading, with every value's type checked --------------------------------------------


def _json(path: Path) -> Any:
    with open(path, encoding="utf-8") as source:
        return json.load(source)


def _dict(value) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, found {type(value).__name__}")
    return value


def _list(value) -> list:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, found {type(value).__name__}")
    return value


def _int(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise ValueError(f"expected a whole number, found {str(value)[:40]}")
    return value


def _hex(value) -> str:
    if not isinstance(value, str) or not HEX64.match(value):
        raise ValueError(f"expected 64 hex digits, found {str(value)[:70]}")
    return value


def _code(value, prefix: str) -> str:
    if not isinstance(value, str) or not CODE.match(value) or not value.startswith(prefix):
        raise ValueError(f"unexpected code {str(value)[:40]!r}")
    return value


def _file(name) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"unexpected file name {str(name)[:60]!r}")
    return name


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    return text or type(exc).__name__


# --- Items -------------------------------------------------------------------------------


def _item(data: Path, code: str, entry: dict, anchors: dict, report: Report) -> int:
    """Check one item's log, original and proof; 1 if the bag proves it anchored."""
    folder = data / "items" / code
    events = [_dict(event) for event in _list(_dict(_json(folder / "custody.json"))["events"])]
    hashes: dict[int, str] = {}
    previous, withheld, broken = "", [], False
    for position, event in enumerate(events, start=1):
        sequence, own = _int(event["sequence"]), _hex(event["event_hash"])
        if sequence != position or event["previous_hash"] != previous:
            report.problem(f"{code} custody: event {position} does not follow the one before it")
            broken = True
        if event.get("details_withheld") is True:
            withheld.append(str(sequence))
        elif payload_digest(event_payload(code, event)) != own:
            report.problem(f"{code} custody: event {sequence} does not match its hash")
            broken = True
        hashes[sequence] = previous = own
    if not events:
        report.problem(f"{code} custody: the log has no event")
    elif not broken:
        note = (
            f" (events {', '.join(withheld)} had protected details withheld: linked, their "
            "content not recomputed and taken on trust)"
        )
        report.ok(
            f"{code} custody: {len(events)} events, one unbroken chain" + (note * bool(withheld))
        )
    _original(data, code, entry.get("original"), events, report)
    proof = _dict(_json(folder / "anchor.json"))
    if proof.get("anchored") is False:
        report.ok(f"{code} anchor: not anchored when exported (the chain alone vouches for it)")
        return 0
    _proof(code, proof, hashes, anchors, report)
    return 1


def event_payload(code: str, event: dict[str, Any]) -> dict[str, Any]:
    """What an event's hash covers, from a bag's custody.json (``custody.event_digest``)."""
    return {
        "item": code,
        "sequence": event["sequence"],
        "action": event["action"],
        "actor": event["actor_id"],
        "at": event["at"],
        "observed_sha256": event["observed_sha256"],
        "details": event["details"],
        "previous_hash": event["previous_hash"],
    }


def _original(data: Path, code: str, given, events: list[dict], report: Report) -> None:
    """The original's bytes against the hash the log received (its first received event)."""
    if given is None:
        return
    parts = str(given).split("/")
    if parts[:3] != ["data", "originals", code] or len(parts) != 4:
        raise ValueError(f"unexpected original path {str(given)[:80]!r}")
    received = next((e for e in events if e.get("action") == "received"), None)
    expected = received.get("observed_sha256") if received else None
    digest = hashlib.sha256()
    with open(data / "originals" / code / _file(parts[3]), "rb") as original:
        for chunk in iter(lambda: original.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected or not parts[3].startswith(digest.hexdigest()):
        report.problem(
            f"{code} original: its SHA-256 is {digest.hexdigest()}, the log received {expected}"
        )
    else:
        report.ok(f"{code} original: the bytes the log received (SHA-256 {expected[:16]}…)")


def _proof(code: str, proof: dict, hashes: dict[int, str], anchors: dict, report: Report) -> None:
    sequence, head = _int(proof["sequence"]), _hex(proof["head_hash"])
    anchor = _code(proof["anchor"], "A")
    if anchor not in anchors:
        report.problem(f"{code} anchor: its proof names {anchor}, which the bag does not list")
        return
    found = anchors[anchor]
    if found is None:  # its records could not be read: said above
        return
    found.used = True
    if hashes.get(sequence) != head:
        report.problem(
            f"{code} anchor: {anchor} anchored event {sequence} as {head}, "
            f"the log has {hashes.get(sequence, 'no such event')}"
        )
        return
    path = [bytes.fromhex(_hex(h)) for h in _list(proof["path"])]
    leaf = merkle.leaf_hash(merkle.head_text(code, sequence, head))
    index, size = _int(proof["index"]), _int(proof["size"])
    root = merkle.root_from_path(leaf, index, size, path).hex()
    if root != found.root or proof.get("root") != found.root:
        report.problem(f"{code} anchor: the path leads to {root}, not {anchor}'s root {found.root}")
        return
    stamped = "; ".join(found.stamps) or "not timestamped: the server's word only"
    report.ok(
        f"{code} anchor: event {sequence} (the chain's head then) is leaf {index} of {size} "
        f"under {anchor}'s root {found.root[:16]}… ({stamped})"
    )


# --- Anchors and what else the bag holds ---------------------------------------------------


def _anchor(folder: Path, code: str, trusted, report: Report) -> Anchored | None:
    try:
        made = _dict(_json(folder / "anchor.json"))
        root = _hex(made["root"])
        stamps = [_dict(stamp) for stamp in _list(made["timestamps"])]
        if (folder / "root.txt").read_text(encoding="ascii").strip() != root:
            report.problem(f"{code}: root.txt is not the anchor's root")
    except UNREADABLE as exc:
        report.problem(f"{code}: the anchor's records cannot be read: {_short(exc)}")
        return None
    found = Anchored(root)
    if not stamps:
        report.ok(f"{code}: root {root[:16]}… was not timestamped (no TSA answered or none set)")
    for stamp in stamps:
        try:
            name = _file(stamp["response"])
            bags_ca = timestamping.load_pem((folder / _file(stamp["ca"])).read_bytes())
            token = timestamping.check(
                (folder / name).read_bytes(), root.encode("ascii"), trusted or bags_ca
            )
        except (timestamping.TimestampError, *UNREADABLE) as exc:
            report.problem(f"{code} {stamp.get('response')}: {_short(exc)}")
            continue
        under = "the CA certificates given" if trusted else f"{stamp['ca']}, " + _who(bags_ca[0])
        found.stamps.append(f"timestamped {token.gen_time.isoformat()} by {token.tsa_name}")
        report.ok(
            f"{code} {name}: {token.tsa_name or 'the TSA'} signed root {root[:16]}… at "
            f"{token.gen_time.isoformat()} (serial {token.serial}), verified under {under}"
        )
    return found


def _who(ca: x509.Certificate) -> str:
    fingerprint = hashlib.sha256(ca.public_bytes(Encoding.DER)).hexdigest()
    return (
        f"the bag's CA {ca.subject.rfc4514_string()} (SHA-256 fingerprint {fingerprint}): "
        "compare it with the root the TSA publishes"
    )


def _listed(data: Path, codes: list[str], anchors: list[str], report: Report) -> None:
    """Nothing in the bag's items, originals or anchors that export.json does not list."""
    for area, known in (("items", codes), ("originals", codes), ("anchors", anchors)):
        folder = data / area
        if not folder.is_dir():
            continue
        for extra in sorted(p.name for p in folder.iterdir() if p.name not in known):
            report.problem(f"{area}/{extra[:80]}: in the bag but not listed in export.json")
