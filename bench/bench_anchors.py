"""Trusted time (issue: anchor the custody log with RFC 3161 timestamps).

- the Merkle tree over 1,000,000 chain heads, streaming (``merkle.root_of``): time
  against hashing the same leaves alone (the floor: a tree hashes each leaf and then
  n - 1 nodes), and the peak memory it adds in a fresh process (target < 10 s,
  memory that does not grow with n);
- a proof in that tree: its size (log2 n hashes) and the time to check it;
- ``anchoring.anchor()`` over N items' chains in the database, against the query of
  their heads alone, and ``anchoring.proof`` of one item of that anchor;
- ``verify_bag`` of a bag of 10,000 items (custody logs, proofs, one timestamped
  anchor from a TSA on loopback), against bagit's own validation of the same bag.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

from bench.harness import Figure, Report, peak_rss_delta_mb, time_it

DATABASE_BOUND = True  # the anchor over the database's chains
HEADS = 1_000_000
ITEMS = {"quick": 10_000, "full": 100_000}
BAG_ITEMS = 10_000


def _texts(n: int):
    head = "ab" * 32
    return (f"EV-{i:07d} 3 {head}" for i in range(n))


def run(report: Report, *, scale: str) -> None:
    from evidence.files import merkle

    whole = time_it(lambda: merkle.root_of(merkle.leaf_hash(t) for t in _texts(HEADS)), runs=3)
    floor = time_it(lambda: [hashlib.sha256(t.encode()).digest() for t in _texts(HEADS)], runs=3)
    report.add(
        Figure(
            f"anchors: Merkle root over {HEADS:,} chain heads (streaming)",
            whole.median, "s", baseline=floor.median, baseline_name="s hashing the leaves alone",
            target="< 10 s", timing=whole,
        )
    )  # fmt: skip
    setup = "from evidence.files import merkle\nfrom bench.bench_anchors import _texts"
    streamed = peak_rss_delta_mb(
        f"merkle.root_of(merkle.leaf_hash(t) for t in _texts({HEADS}))", setup=setup
    )
    held = peak_rss_delta_mb(
        f"leaves = [merkle.leaf_hash(t) for t in _texts({HEADS})]", setup=setup
    )
    report.add(
        Figure(
            f"anchors: peak memory of the root over {HEADS:,} heads",
            streamed, "MB", baseline=held, baseline_name="MB holding the leaf hashes",
            target="flat in n (streaming)",
        )
    )  # fmt: skip

    leaves = [merkle.leaf_hash(t) for t in _texts(HEADS)]
    root = merkle.root_of(leaves)
    index = HEADS // 3
    start = time.perf_counter()
    path = merkle.inclusion_path(leaves, index)
    making = time.perf_counter() - start
    del leaves
    leaf = merkle.leaf_hash(f"EV-{index:07d} 3 {'ab' * 32}")
    assert merkle.root_from_path(leaf, index, HEADS, path) == root
    checking = time_it(lambda: merkle.root_from_path(leaf, index, HEADS, path), runs=200)
    one = time_it(lambda: hashlib.sha256(b"\x01" + root + root).digest(), runs=200)
    report.add(
        Figure(
            f"anchors: proof in a tree of {HEADS:,}: hashes in the path",
            len(path), "n", baseline=(HEADS - 1).bit_length(), baseline_name="= ceil(log2 n)",
        )
    )  # fmt: skip
    report.add(
        Figure(
            "anchors: proof check (RFC 9162 path to root)",
            checking.median * 1e6, "us", baseline=one.median * 1e6 * len(path),
            baseline_name=f"us for {len(path)} bare SHA-256 calls", timing=checking,
        )
    )  # fmt: skip
    report.add(Figure("anchors: making that proof from the leaves held", making, "s"))
    _database(report, ITEMS[scale])
    _bag(report, BAG_ITEMS)


def _database(report: Report, n: int) -> None:
    from django.contrib.auth.models import User

    from evidence.files import anchoring
    from evidence.models import Anchor, CustodyEvent, EvidenceItem

    user, _ = User.objects.get_or_create(username="bench-anchors")
    first = EvidenceItem.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    items = EvidenceItem.objects.bulk_create(
        EvidenceItem(code=f"EV-A{first + i:07d}", kind="document", title="bench", created_by=user)
        for i in range(n)
    )  # fmt: skip
    now = "2026-01-01T00:00:00+00:00"
    CustodyEvent.objects.bulk_create(
        (
            CustodyEvent(
                item=item, sequence=s, action="viewed", at=now, previous_hash="",
                event_hash=hashlib.sha256(f"{item.pk} {s}".encode()).hexdigest(),
            )
            for item in items for s in (1, 2)
        ),
        batch_size=5000,
    )  # fmt: skip
    alone = time_it(lambda: list(anchoring._heads()), runs=1, warmup=0)
    start = time.perf_counter()
    made = anchoring.anchor()
    took = time.perf_counter() - start
    total = Anchor.objects.get(pk=made.pk).size - 1
    report.add(
        Figure(
            f"anchors: anchor() over {total:,} chain heads in the database",
            took, "s", baseline=alone.median, baseline_name="s the heads query alone",
        )
    )  # fmt: skip
    proof = time_it(lambda: anchoring.proof(items[n // 2]), runs=3)
    report.add(
        Figure("anchors: proof of one item in that anchor (leaves read)", proof.median, "s",
               timing=proof)
    )  # fmt: skip


def _bag(report: Report, n: int) -> None:
    """A bag as export_bag writes it, made directly (n items, three events each)."""
    import bagit

    from evidence.files import bag_anchors, bag_check, custody, merkle
    from evidence.tests.tsa import LocalTSA, make_authority

    folder = Path(tempfile.mkdtemp(prefix="bench-bag-"))
    data = folder / "bag"
    heads, listing = [], []
    for i in range(n):
        code = f"EV-{i:06d}"
        previous, events = "", []
        for s in (1, 2, 3):
            event = {"sequence": s, "action": "viewed", "actor": None, "actor_id": None,
                     "at": "2026-01-01T00:00:00+00:00", "observed_sha256": "", "details": {},
                     "previous_hash": previous}  # fmt: skip
            payload = bag_check.event_payload(code, event)
            event["event_hash"] = previous = custody.payload_digest(payload)
            events.append(event)
        heads.append((code, previous))
        _write(data / "items" / code / "custody.json", {"item": code, "events": events})
        listing.append({"code": code})
    leaves = [merkle.leaf_hash("previous none")]
    leaves += [merkle.leaf_hash(merkle.head_text(c, 3, h)) for c, h in heads]
    root = merkle.root_of(leaves).hex()
    for index, (code, head) in enumerate(heads, start=1):
        proof = {"anchor": "A-1", "sequence": 3, "head_hash": head, "index": index,
                 "size": len(leaves), "root": root,
                 "path": [p.hex() for p in merkle.inclusion_path(leaves, index)]}  # fmt: skip
        _write(data / "items" / code / "anchor.json", proof)
    authority = make_authority(folder / "ca")
    from evidence.files import timestamping

    with LocalTSA(authority) as tsa:
        roots = timestamping.load_pem(authority.root_pem)
        token = timestamping.ask(tsa.url, root.encode(), roots, timeout=30)
    anchors = data / "anchors" / "A-1"
    anchors.mkdir(parents=True)
    (anchors / "root.txt").write_text(root)
    (anchors / "tsa-1.tsr").write_bytes(token.response)
    (anchors / "tsa-1-ca.pem").write_text(token.root_certificate)
    _write(anchors / "anchor.json", {"root": root, "timestamps": [
        {"response": "tsa-1.tsr", "ca": "tsa-1-ca.pem"}]})  # fmt: skip
    (data / "VERIFY.md").write_text(bag_anchors.VERIFY)
    _write(data / "export.json", {"items": listing, "anchoring": {"anchors": ["A-1"]}})
    bagit.make_bag(str(data), checksums=["sha256", "sha512"])

    ours = time_it(lambda: _checked(bag_check.check(data)), runs=1, warmup=0)
    floor = time_it(lambda: bagit.Bag(str(data)).validate(), runs=1, warmup=0)
    report.add(
        Figure(
            f"anchors: verify_bag of a bag of {n:,} items",
            ours.median, "s", baseline=floor.median, baseline_name="s bagit's validation alone",
        )
    )  # fmt: skip


def _checked(report) -> None:
    if report.problems:
        raise AssertionError("\n".join(report.lines[:5]))


def _write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
