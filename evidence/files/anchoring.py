"""Custody anchors: every chain head that changed, under one Merkle root, timestamped by
independent Time-Stamping Authorities (RFC 3161), so that a chain rebuilt or cut short
after it was anchored can be shown to have been (docs/security.md, "Trusted time").

- ``anchor()`` reads, in one query, each item whose chain has grown since its last
  leaf, and makes the tree over ``previous <root of the anchor before>`` and those
  heads (``evidence.files.merkle``), streaming: leaves are written in batches and only
  one subtree per level is held. One transaction: an anchor has all its leaves or none.
- ``timestamp()`` asks each TSA of ``TRACKER_TSA_URLS`` for a token of the root's hex
  text (``evidence.files.timestamping``), outside any transaction: a slow or failing
  TSA delays nothing but its own token, which is asked again at the next run.
- ``proof(item)`` is the item's newest leaf, its audit path to its anchor's root and
  the anchor's tokens; ``mismatches(items)`` compares every leaf of the items with
  their chains as they are now (``verify_evidence``); ``anchor_problems`` recomputes
  anchors' roots from their leaves and checks their tokens again.

The review log is not hash-chained, so it is not anchored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from evidence import access
from evidence.files import merkle, timestamping
from evidence.files.bag_records import utc
from evidence.models import Anchor, AnchorLeaf, AnchorToken, CustodyEvent, EvidenceItem
from evidence.visibility import hidden_incident_codes

log = logging.getLogger(__name__)
BATCH = 2000


class NotTimestamped(Exception):
    """A TSA did not give a valid token (the anchor itself is kept)."""


def _heads():
    """Each item whose chain has events not yet anchored: its head (code, sequence, hash)."""
    newest = CustodyEvent.objects.filter(item=OuterRef("pk")).order_by("-sequence")
    anchored = AnchorLeaf.objects.filter(item=OuterRef("pk"), latest=True).values("sequence")
    return (
        EvidenceItem.objects.annotate(
            head=Subquery(newest.values("sequence")[:1]),
            head_hash=Subquery(newest.values("event_hash")[:1]),
            anchored=Coalesce(Subquery(anchored), 0),
        )
        .filter(head__gt=F("anchored"))
        .order_by("pk")
        .values_list("pk", "code", "head", "head_hash")
    )


def anchor() -> Anchor | None:
    """Anchor every chain head that changed since its last anchor; None if none did."""
    with transaction.atomic():
        _one_at_a_time()
        previous = Anchor.objects.order_by("-pk").first()
        previous_root = previous.root if previous else ""
        made = Anchor.objects.create(root="", previous_root=previous_root, size=0)
        leaves = _Leaves(made, merkle.previous_text(previous_root))
        root = merkle.root_of(leaves)
        if leaves.count == 0:
            transaction.set_rollback(True)
            return None
        made.root, made.size = root.hex(), leaves.count + 1
        made.save(update_fields=["root", "size"])
    return made


# PostgreSQL: one anchoring run at a time (a transaction-scoped advisory lock), so two
# workers' runs neither collide on the latest-leaf index nor both name the same previous
# root (a fork). SQLite's transactions are already one at a time (IMMEDIATE).
ADVISORY_LOCK = 0x616E63686F72  # "anchor"


def _one_at_a_time() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


class _Leaves:
    """The leaf hashes of a new anchor, in order, writing its leaves as they go by. The
    heads are read in batches of primary keys (no cursor stays open while leaves are
    written)."""

    def __init__(self, made: Anchor, first: str):
        self.made, self.first, self.count = made, first, 0

    def __iter__(self) -> Iterator[bytes]:
        yield merkle.leaf_hash(self.first)
        after = 0
        while batch := list(_heads().filter(pk__gt=after)[:BATCH]):
            leaves = []
            for pk, code, sequence, head_hash in batch:
                self.count += 1
                leaves.append(
                    AnchorLeaf(
                        anchor=self.made, index=self.count, item_id=pk, sequence=sequence,
                        head_hash=head_hash,
                    )
                )  # fmt: skip
                yield merkle.leaf_hash(merkle.head_text(code, sequence, head_hash))
            self._write(leaves)
            after = batch[-1][0]

    @staticmethod
    def _write(batch: list[AnchorLeaf]) -> None:
        if batch:
            items = [leaf.item_id for leaf in batch]
            AnchorLeaf.objects.filter(item_id__in=items, latest=True).update(latest=False)
            AnchorLeaf.objects.bulk_create(batch)


# --- Timestamps ----------------------------------------------------------------------------


def message(anchor: Anchor) -> bytes:
    """What a TSA signs for an anchor: its root as 64 lower-case hex characters."""
    return anchor.root.encode("ascii")


def roots() -> list:
    if not settings.TRACKER_TSA_CA_FILE:
        raise timestamping.TimestampError(
            "TRACKER_TSA_URLS is set but TRACKER_TSA_CA_FILE is not: no token can be checked."
        )
    return timestamping.load_roots(settings.TRACKER_TSA_CA_FILE)


def timestamp(anchors: Iterable[Anchor] | None = None) -> list[str]:
    """Ask every configured TSA for a token of each anchor (by default, the anchors that
    lack one from some TSA), keep what verifies, record what failed. Returns the
    failures, one line each (``[]``: all timestamped, or no TSA configured)."""
    urls = list(settings.TRACKER_TSA_URLS)
    if not urls:
        return []
    chosen = list(anchors) if anchors is not None else list(pending(urls))
    failures = []
    try:
        trusted = roots()
    except timestamping.TimestampError as exc:
        return [str(exc)]
    for made in chosen:
        granted = set(
            made.tokens.filter(state=AnchorToken.State.GRANTED).values_list("tsa_url", flat=True)
        )
        for url in urls:
            if url in granted:
                continue
            try:
                token = timestamping.ask(
                    url, message(made), trusted, timeout=settings.TRACKER_TSA_TIMEOUT
                )
            except timestamping.TimestampError as exc:
                failures.append(f"{made.code} {url}: {exc}")
                _failed(made, url, str(exc))
                continue
            _granted(made, url, token)
    for line in failures:
        log.warning("custody anchor not timestamped: %s", line)
    return failures


def pending(urls: list[str], most: int = 100):
    """The newest anchors (at most ``most``) without a granted token from one of ``urls``."""
    missing = Q()
    for url in urls:
        granted = AnchorToken.objects.filter(tsa_url=url, state=AnchorToken.State.GRANTED)
        missing |= ~Q(pk__in=granted.values("anchor_id"))
    return Anchor.objects.filter(missing).order_by("-pk")[:most]


def _failed(made: Anchor, url: str, error: str) -> None:
    token, _ = AnchorToken.objects.get_or_create(
        anchor=made, tsa_url=url, defaults={"state": AnchorToken.State.FAILED}
    )
    AnchorToken.objects.filter(pk=token.pk, state=AnchorToken.State.FAILED).update(
        error=error[:2000], attempts=F("attempts") + 1, asked_at=timezone.now()
    )


def _granted(made: Anchor, url: str, token: timestamping.Token) -> None:
    values = {
        "state": AnchorToken.State.GRANTED,
        "error": "",
        "asked_at": timezone.now(),
        "response": token.response,
        "gen_time": token.gen_time,
        "tsa_name": token.tsa_name,
        "serial": token.serial,
        "certificates": token.certificates,
        "root_certificate": token.root_certificate,
    }
    with transaction.atomic():
        held, made_now = AnchorToken.objects.get_or_create(
            anchor=made, tsa_url=url, defaults=values
        )
        if not made_now and held.state != AnchorToken.State.GRANTED:
            values["attempts"] = held.attempts + 1
            AnchorToken.objects.filter(pk=held.pk).update(**values)


# --- Proofs and checks -----------------------------------------------------------------------

PROOF_METHOD = (
    "leaf = SHA-256(0x00 || UTF-8 of the leaf text); node = SHA-256(0x01 || left || right); "
    "the tree is RFC 9162's (split at the largest power of two below the leaf count); "
    "the path is RFC 9162's audit path of leaf `index` among `size` leaves, from the leaf up; "
    "leaf 0 is 'previous <previous_root>' ('previous none' for the first anchor); "
    "each TSA signed SHA-256 of `root` written as 64 lower-case hex characters."
)


def _leaf_hashes(made: Anchor) -> list[bytes]:
    """Every leaf hash of ``made``, in order, from its stored leaves."""
    rows = made.leaves.order_by("index").values_list("item__code", "sequence", "head_hash")
    hashes = [merkle.leaf_hash(merkle.previous_text(made.previous_root))]
    for code, sequence, head_hash in rows.iterator(chunk_size=BATCH):
        hashes.append(merkle.leaf_hash(merkle.head_text(code, sequence, head_hash)))
    return hashes


def latest_leaf(item: EvidenceItem) -> AnchorLeaf | None:
    return item.anchor_leaves.filter(latest=True).select_related("anchor").first()


def granted(made: Anchor) -> list[AnchorToken]:
    return list(made.tokens.filter(state=AnchorToken.State.GRANTED).order_by("pk"))


def proof(item: EvidenceItem) -> dict[str, Any] | None:
    """``item``'s newest anchored head and its inclusion proof; None if never anchored."""
    return proofs([item])[item.pk]


PROOF_WITHHELD = (
    "This item's custody log holds details you may not see (protected identity, or a "
    "restricted incident), and its anchored hash would let a guess of them be checked. "
    "Ask someone who may see them for the proof."
)


class ProofWithheld(Exception):
    """The proof would let its reader check guesses of what the log withholds from them."""


def proof_for(user, item: EvidenceItem) -> dict[str, Any] | None:
    """``proof(item)`` for ``user``, who may see the item (every face checks that first):
    refused (``ProofWithheld``) when any detail of its log is withheld from them, since
    the head's hash covers every detail (``access.first_withheld``)."""
    events = item.custody_events.order_by("sequence").only("sequence", "details")
    shown = access.file_name_shown(item, user.has_perm(access.VIEW_PROTECTED))
    if access.first_withheld(events, shown, hidden_incident_codes(user)) is not None:
        raise ProofWithheld(PROOF_WITHHELD)
    return proof(item)


def proofs(items: Iterable[EvidenceItem]) -> dict[int, dict[str, Any] | None]:
    """``proof`` of several items, by primary key, reading each anchor's leaves once."""
    chosen = {item.pk: item for item in items}
    leaves = AnchorLeaf.objects.filter(item_id__in=chosen, latest=True).select_related("anchor")
    found: dict[int, dict[str, Any] | None] = dict.fromkeys(chosen)
    trees: dict[int, list[list[bytes]]] = {}  # each anchor's levels, built once
    stamps: dict[int, list[dict[str, Any]]] = {}
    for leaf in leaves:
        made = leaf.anchor
        if made.pk not in trees:
            trees[made.pk] = merkle.levels(_leaf_hashes(made))
            stamps[made.pk] = [
                {
                    "tsa": token.tsa_url,
                    "signed_by": token.tsa_name,
                    "time": utc(token.gen_time),
                    "serial": token.serial,
                }
                for token in granted(made)
            ]
        code = chosen[leaf.item_id].code
        found[leaf.item_id] = {
            "item": code,
            "anchor": made.code,
            "anchored_at": utc(made.made_at),
            "sequence": leaf.sequence,
            "head_hash": leaf.head_hash,
            "leaf": merkle.head_text(code, leaf.sequence, leaf.head_hash),
            "index": leaf.index,
            "size": made.size,
            "path": [h.hex() for h in merkle.path_in(trees[made.pk], leaf.index)],
            "root": made.root,
            "previous_root": made.previous_root,
            "timestamps": stamps[made.pk],
            "method": PROOF_METHOD,
        }
    return found


def mismatches(item_ids: Iterable[int]) -> list[str]:
    """``ANCHOR-MISMATCH`` lines: each leaf of these items whose event is no longer the
    one anchored (``-`` for an event that is gone: the chain was cut short)."""
    ids = list(item_ids)
    now = {
        (pk, sequence): event_hash
        for pk, sequence, event_hash in CustodyEvent.objects.filter(item_id__in=ids).values_list(
            "item_id", "sequence", "event_hash"
        )
    }
    lines = []
    leaves = AnchorLeaf.objects.filter(item_id__in=ids).order_by("item__code", "anchor_id")
    for code, anchor_id, sequence, head_hash, pk in leaves.values_list(
        "item__code", "anchor_id", "sequence", "head_hash", "item_id"
    ):
        current = now.get((pk, sequence), "-")
        if current != head_hash:
            lines.append(
                f"ANCHOR-MISMATCH {code} anchored head {head_hash} now {current} "
                f"(event {sequence}, anchor A-{anchor_id})"
            )
    return lines


# A token signed this long after its anchor was made, or an anchor still without one
# this long after, is reported: a root timestamped late may have been made late.
LATE = timedelta(days=1)


def anchor_problems(anchors: Iterable[Anchor], now=None) -> list[str]:
    """Each anchor's root recomputed from its leaves, its link to the anchor before it,
    and every granted token checked again, offline, under the roots trusted now
    (``TRACKER_TSA_CA_FILE``; without one, the root each token was verified under):
    a token brought from another CA does not pass. With TSAs configured, an anchor left
    without a token, or timestamped more than a day after it was made, is reported."""
    now = now or timezone.now()
    try:
        trusted = roots() if settings.TRACKER_TSA_CA_FILE else None
    except timestamping.TimestampError as exc:
        return [f"ANCHOR-TOKEN the trusted TSA roots cannot be read: {exc}"]
    lines = []
    for made in anchors:
        leaves = _leaf_hashes(made)
        root = merkle.root_of(leaves).hex()
        if root != made.root or len(leaves) != made.size:
            lines.append(f"ANCHOR-ROOT {made.code} stored {made.root} leaves give {root}")
        before = Anchor.objects.filter(pk__lt=made.pk).order_by("-pk").values("root").first()
        if made.previous_root != (before["root"] if before else ""):
            lines.append(f"ANCHOR-LINK {made.code} does not name the root of the anchor before it")
        tokens = granted(made)
        for token in tokens:
            try:
                under = trusted or timestamping.load_pem(token.root_certificate)
                found = timestamping.check(bytes(token.response), message(made), under)
            except timestamping.TimestampError as exc:
                lines.append(f"ANCHOR-TOKEN {made.code} {token.tsa_url}: {exc}")
                continue
            if found.gen_time > made.made_at + LATE:
                lines.append(
                    f"ANCHOR-LATE {made.code} made {utc(made.made_at)} but timestamped "
                    f"{utc(found.gen_time)} by {token.tsa_url}"
                )
        if not tokens and settings.TRACKER_TSA_URLS and made.made_at < now - LATE:
            lines.append(f"ANCHOR-UNSTAMPED {made.code} made {utc(made.made_at)}: no valid token")
    return lines
