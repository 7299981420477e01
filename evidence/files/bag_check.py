"""Check an exported bag with nothing but the bag (``manage.py verify_bag``): no query,
no database, no network. What ``VERIFY.md`` in the bag tells a reader to do by hand:

1. bagit fixity: every payload file against both manifests, nothing missing or added;
2. every custody log: each event's hash recomputed (``custody.payload_digest``) and
   linked to the one before it;
3. every inclusion proof: the anchored event is in the log, and its leaf and audit
   path lead to the anchor's root (``merkle``);
4. every timestamp: the TSA's token verifies for the root under the CA in the bag
   (``timestamping.check``).

``check(path)`` returns the lines to print: what each check proves, and ``PROBLEM``
lines for what failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bagit

from evidence.files import merkle, timestamping
from evidence.files.custody import payload_digest
from evidence.files.progress import quiet_info


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.problems = 0

    def ok(self, line: str) -> None:
        self.lines.append(line)

    def problem(self, line: str) -> None:
        self.lines.append(f"PROBLEM {line}")
        self.problems += 1


def check(path: Path | str) -> Report:
    report = Report()
    root = Path(path)
    try:
        with quiet_info("bagit"):
            bag = bagit.Bag(str(root))
            bag.validate()
    except (bagit.BagError, bagit.BagValidationError) as exc:
        report.problem(f"bag: {_short(exc)}")
        return report
    version = ".".join(map(str, bag.version_info))
    report.ok(
        f"bag: valid BagIt {version}, {bag.info.get('Payload-Oxum', '?')} (bytes.files); "
        f"every payload file matches {', '.join(bag.algorithms)} manifests"
    )
    data = root / "data"
    try:
        export = _json(data / "export.json")
        for entry in export["items"]:
            _item(data, str(entry["code"]), report)
        for code in export.get("anchoring", {}).get("anchors", []):
            _anchor(data / "anchors" / _safe(code), code, report)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        report.problem(f"the bag's records cannot be read: {_short(exc)}")
    return report


def _json(path: Path) -> Any:
    with open(path, encoding="utf-8") as source:
        return json.load(source)


def _safe(code: str) -> str:
    if not code or not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in code):
        raise ValueError(f"unexpected code {code!r}")
    return code


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _item(data: Path, code: str, report: Report) -> None:
    folder = data / "items" / _safe(code)
    custody = _json(folder / "custody.json")
    events = custody["events"]
    hashes: dict[int, str] = {}
    previous, withheld, broken = "", 0, False
    for position, event in enumerate(events, start=1):
        if event["sequence"] != position or event["previous_hash"] != previous:
            report.problem(f"{code} custody: event {position} does not follow the one before it")
            broken = True
        if event.get("details_withheld"):
            withheld += 1
        elif payload_digest(event_payload(code, event)) != event["event_hash"]:
            report.problem(f"{code} custody: event {event['sequence']} does not match its hash")
            broken = True
        hashes[event["sequence"]] = previous = event["event_hash"]
    if not broken:
        note = f" ({withheld} with protected details withheld: linked, not recomputed)"
        report.ok(
            f"{code} custody: {len(events)} events, one unbroken chain" + (note if withheld else "")
        )
    proof = _json(folder / "anchor.json")
    if proof.get("anchored") is False:
        report.ok(f"{code} anchor: not anchored when exported (the chain alone vouches for it)")
        return
    _proof(code, proof, hashes, data, report)


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


def _proof(code: str, proof: dict, hashes: dict[int, str], data: Path, report: Report) -> None:
    sequence, head = proof["sequence"], proof["head_hash"]
    anchor = _safe(proof["anchor"])
    if hashes.get(sequence) != head:
        report.problem(
            f"{code} anchor: {anchor} anchored event {sequence} as {head}, "
            f"the log has {hashes.get(sequence, 'no such event')}"
        )
        return
    text = merkle.head_text(code, sequence, head)
    try:
        path = [bytes.fromhex(h) for h in proof["path"]]
        root = merkle.root_from_path(merkle.leaf_hash(text), proof["index"], proof["size"], path)
    except ValueError as exc:
        report.problem(f"{code} anchor: the proof is malformed ({exc})")
        return
    held = _json(data / "anchors" / anchor / "anchor.json")["root"]
    if root.hex() != held or proof["root"] != held:
        report.problem(f"{code} anchor: the path leads to {root.hex()}, not {anchor}'s root {held}")
        return
    report.ok(
        f"{code} anchor: event {sequence} (the chain's head then) is leaf {proof['index']} of "
        f"{proof['size']} under {anchor}'s root {held[:16]}…"
    )


def _anchor(folder: Path, code: str, report: Report) -> None:
    made = _json(folder / "anchor.json")
    root = made["root"]
    if (folder / "root.txt").read_text(encoding="ascii").strip() != root:
        report.problem(f"{code}: root.txt is not the anchor's root")
    if not made["timestamps"]:
        report.ok(f"{code}: root {root[:16]}… was not timestamped (no TSA answered or none set)")
    for stamp in made["timestamps"]:
        name = stamp["response"]
        try:
            ca = timestamping.load_pem((folder / _file(stamp["ca"])).read_bytes())
            response = (folder / _file(name)).read_bytes()
            token = timestamping.check(response, root.encode("ascii"), ca)
        except timestamping.TimestampError as exc:
            report.problem(f"{code} {name}: {exc}")
            continue
        report.ok(
            f"{code} {name}: {token.tsa_name or 'the TSA'} signed root {root[:16]}… at "
            f"{token.gen_time.isoformat()} (serial {token.serial}), verified under "
            f"{stamp['ca']}: compare it with the root the TSA publishes"
        )


def _file(name: str) -> str:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"unexpected file name {name!r}")
    return name
