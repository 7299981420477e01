"""``manage.py verify_evidence [CODE ...]``: re-hash originals, re-check custody chains.

Prints ``OK <n> items`` when every item checked is intact, otherwise one line per
problem and exits with status 1:

    MISMATCH EV-000123 expected <sha256 on record> got <sha256 of the file>
    MISSING EV-000123
    CHAIN EV-000123 broken at event <n>

Every item checked gets a ``verified`` custody event whose details say what was
found: ``result`` is the file's fixity (``ok``, ``mismatch``, ``missing``, or
``no original`` for items without a file, which are checked for their chain
only), ``observed`` the SHA-256 read from disk (empty if none), and ``chain``
either ``ok`` or ``broken at event <n>``.

A broken chain gets its ``verified`` event too. Appending repairs nothing and
hides nothing: the new event links to the last stored hash, so the break stays
where it is and every later verification reports it again, while the log
itself now records when the break was found. Not appending would leave the
one check that found tampering out of the custody record.

Items are read in primary-key batches, one query per batch for the items and
one for their chains, so memory stays bounded however many items there are.
Keyset batches rather than one long-running cursor: a cursor held open for a
run of many hours would keep SQLite's write-ahead log from being checkpointed
(and make PostgreSQL materialise the whole result), while each batch here is a
short query of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet

from evidence import custody, storage
from evidence.models import CustodyEvent, EvidenceItem

BATCH = 500


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks into one reused buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(storage.CHUNK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as stream:
        while size := stream.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def batches(items: QuerySet[EvidenceItem], size: int | None = None) -> Iterator[list[EvidenceItem]]:
    """``items`` in primary-key order, ``size`` (default ``BATCH``) at a time."""
    last = 0
    while batch := list(items.filter(pk__gt=last).order_by("pk")[: size or BATCH]):
        yield batch
        last = batch[-1].pk


class Command(BaseCommand):
    help = (
        "Re-hash stored originals and recompute every custody chain; record a "
        "verification event per item; exit with status 1 on any problem."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "codes", nargs="*", metavar="CODE", help="Evidence codes to check (default: all)."
        )

    def handle(self, *args, codes: list[str], **options) -> None:
        items = EvidenceItem.objects.only("pk", "code", "sha256", "original_path")
        if codes:
            codes = list(dict.fromkeys(codes))
            known = set(EvidenceItem.objects.filter(code__in=codes).values_list("code", flat=True))
            unknown = [code for code in codes if code not in known]
            if unknown:
                raise CommandError(f"Unknown evidence code: {', '.join(unknown)}.")
            items = items.filter(code__in=codes)

        checked = problems = 0
        for batch in batches(items):
            chains = custody.verify_chains(batch)
            for item in batch:
                problems += self.check_item(item, chains[item.pk], options["verbosity"])
                checked += 1
        if problems:
            raise CommandError(f"{problems} problem(s) in {checked} items.")
        self.stdout.write(f"OK {checked} items")

    def check_item(self, item: EvidenceItem, breaks: list[custody.ChainBreak], verbosity) -> int:
        """Check one item, print its problems, record the verification; count problems."""
        lines = []
        observed = ""
        if not item.sha256:
            result = "no original"
        else:
            try:
                observed = sha256_of(storage.path_of(item.original_path))
            except (FileNotFoundError, ValueError):  # ValueError: no valid storage key
                result = "missing"
                lines.append(f"MISSING {item.code}")
            else:
                result = "ok" if observed == item.sha256 else "mismatch"
                if result == "mismatch":
                    lines.append(f"MISMATCH {item.code} expected {item.sha256} got {observed}")
        chain = "ok"
        if breaks:
            chain = f"broken at event {breaks[0].sequence}"
            lines.append(f"CHAIN {item.code} {chain}")
        for line in lines:
            self.stdout.write(line)
        if breaks and verbosity >= 2:
            for problem in breaks:
                self.stdout.write(f"  {problem}")
        custody.record(
            item,
            CustodyEvent.Action.VERIFIED,
            observed_sha256=observed,
            details={"result": result, "observed": observed, "chain": chain},
        )
        return len(lines)
