"""Custody anchors without a TSA (``evidence.files.anchoring``): which heads are
anchored, the tree and its proofs, and what ``verify_evidence`` finds when a chain is
rebuilt or cut short after it was anchored. The TSA side: ``test_trusted_time.py``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from evidence.files import anchoring, custody, merkle
from evidence.files.tests.test_custody import ingest_text, raw, triggers_dropped
from evidence.models import Anchor, AnchorLeaf, CustodyEvent

pytestmark = pytest.mark.django_db


def proves(found: dict) -> bool:
    """Does the proof lead from its leaf to its root (the way a bag's reader checks)?"""
    leaf = merkle.leaf_hash(found["leaf"])
    path = [bytes.fromhex(h) for h in found["path"]]
    return merkle.root_from_path(leaf, found["index"], found["size"], path).hex() == found["root"]


def verify(*codes: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("verify_evidence", *codes, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_every_changed_head_is_anchored_once(researcher):
    items = [ingest_text(researcher, n) for n in range(1, 6)]
    made = anchoring.anchor()

    assert made.size == 6 and made.previous_root == ""  # "previous none" and five heads
    leaves = list(made.leaves.order_by("index"))
    assert [leaf.item_id for leaf in leaves] == [item.pk for item in items]
    for leaf, item in zip(leaves, items, strict=True):
        head = item.custody_events.order_by("-sequence").first()
        assert (leaf.sequence, leaf.head_hash) == (head.sequence, head.event_hash)
    assert anchoring.anchor() is None  # nothing changed since
    assert Anchor.objects.count() == 1


def test_the_next_anchor_holds_only_what_changed_and_names_the_root_before(researcher):
    first, second = ingest_text(researcher, 1), ingest_text(researcher, 2)
    before = anchoring.anchor()
    event = custody.record(second, CustodyEvent.Action.VIEWED, actor=researcher)

    after = anchoring.anchor()

    assert after.previous_root == before.root and after.size == 2
    (leaf,) = after.leaves.all()
    assert (leaf.item_id, leaf.sequence) == (second.pk, event.sequence)
    assert leaf.head_hash == event.event_hash
    assert AnchorLeaf.objects.get(item=second, latest=True).anchor == after
    assert AnchorLeaf.objects.get(item=first, latest=True).anchor == before
    assert anchoring.anchor_problems(Anchor.objects.all()) == []


def test_a_root_is_the_tree_over_its_leaves_and_every_proof_leads_to_it(researcher):
    items = [ingest_text(researcher, n) for n in range(1, 8)]
    made = anchoring.anchor()
    texts = ["previous none"] + [
        merkle.head_text(leaf.item.code, leaf.sequence, leaf.head_hash)
        for leaf in made.leaves.order_by("index").select_related("item")
    ]
    assert merkle.root_of(merkle.leaf_hash(t) for t in texts).hex() == made.root

    found = anchoring.proofs(items)
    for item in items:
        proof = found[item.pk]
        assert proof["leaf"].startswith(f"{item.code} ") and proves(proof)
        assert len(proof["path"]) <= 3  # log2 of 8 leaves
        assert proof["timestamps"] == []  # no TSA configured


def test_an_item_never_anchored_has_no_proof(researcher):
    item = ingest_text(researcher)
    assert anchoring.proof(item) is None


def test_leaves_are_written_in_batches_without_losing_one(researcher, monkeypatch):
    monkeypatch.setattr(anchoring, "BATCH", 2)
    items = [ingest_text(researcher, n) for n in range(1, 6)]
    made = anchoring.anchor()
    assert sorted(made.leaves.values_list("item_id", flat=True)) == [i.pk for i in items]
    assert list(made.leaves.order_by("index").values_list("index", flat=True)) == [1, 2, 3, 4, 5]
    assert all(proves(p) for p in anchoring.proofs(items).values())


# --- Detection (verify_evidence) ---------------------------------------------------------


def test_an_intact_anchored_chain_verifies(researcher):
    ingest_text(researcher)
    anchoring.anchor()
    out, error = verify()
    assert error is None and "ANCHOR" not in out


def test_a_chain_cut_short_after_anchoring_is_reported(researcher):
    item = ingest_text(researcher)
    last = custody.record(item, CustodyEvent.Action.VIEWED, actor=researcher)
    anchoring.anchor()
    with triggers_dropped():
        raw("DELETE FROM evidence_custodyevent WHERE id = %s", [last.pk])
    assert custody.verify_chain(item) == []  # the chain alone cannot tell

    out, error = verify(item.code)

    assert error is not None
    assert f"ANCHOR-MISMATCH {item.code} anchored head {last.event_hash} now - " in out


def test_a_chain_rebuilt_after_anchoring_is_reported(researcher):
    item = ingest_text(researcher)
    custody.record(item, CustodyEvent.Action.VIEWED, actor=researcher)
    anchoring.anchor()
    anchored = item.custody_events.order_by("-sequence").first()
    # Rebuild: change the first event's details and recompute every hash after it.
    with triggers_dropped():
        previous = ""
        for event in item.custody_events.order_by("sequence"):
            if event.sequence == 1:
                event.details = {**event.details, "received_from": "someone else"}
            event.previous_hash = previous
            digest = custody.event_digest(event, item.code)
            raw(
                "UPDATE evidence_custodyevent SET details = %s, previous_hash = %s, "
                "event_hash = %s WHERE id = %s",
                [custody_json(event.details), previous, digest, event.pk],
            )
            previous = digest
    assert custody.verify_chain(item) == []  # a perfect chain, but not the anchored one

    out, error = verify()

    assert error is not None
    assert f"ANCHOR-MISMATCH {item.code} anchored head {anchored.event_hash} now {previous}" in out


def test_leaves_or_root_edited_to_match_a_rebuilt_chain_are_reported(researcher):
    ingest_text(researcher, 1)
    ingest_text(researcher, 2)
    made = anchoring.anchor()
    leaf = made.leaves.order_by("index").first()
    raw("UPDATE evidence_anchorleaf SET head_hash = %s WHERE id = %s", ["0" * 64, leaf.pk])

    out, error = verify()

    assert error is not None
    assert f"ANCHOR-ROOT {made.code} stored {made.root} leaves give " in out


def test_an_anchor_that_does_not_name_the_root_before_it_is_reported(researcher):
    item = ingest_text(researcher)
    anchoring.anchor()
    custody.record(item, CustodyEvent.Action.VIEWED, actor=researcher)
    second = anchoring.anchor()
    raw("UPDATE evidence_anchor SET previous_root = %s WHERE id = %s", ["1" * 64, second.pk])

    out, _ = verify()

    assert f"ANCHOR-LINK {second.code}" in out


def custody_json(details: dict) -> str:
    return json.dumps(details)


def test_mismatches_are_listed_by_item_then_anchor(researcher):
    first, second = ingest_text(researcher, 1), ingest_text(researcher, 2)
    anchoring.anchor()
    for item in (second, first):
        custody.record(item, CustodyEvent.Action.VIEWED, actor=researcher)
    anchoring.anchor()
    with triggers_dropped():
        raw("DELETE FROM evidence_custodyevent WHERE item_id IN (%s, %s)", [first.pk, second.pk])

    lines = anchoring.mismatches([second.pk, first.pk])

    named = [(line.split()[1], int(line.rsplit("anchor A-", 1)[1].rstrip(")"))) for line in lines]
    assert named == sorted(named) and len(named) == 4
    assert [code for code, _ in named] == [first.code] * 2 + [second.code] * 2
