"""``manage.py verify_evidence [CODE ...]``: re-hash originals, re-check custody chains.

Prints ``OK <n> items`` when every item checked is intact, otherwise one line per
problem and exits with status 1:

    MISMATCH EV-000123 expected <sha256 on record> got <sha256 of the file>
    MISSING EV-000123
    LOG-MISMATCH EV-000123 row <sha256 of the row> log <sha256 of the received event>
    LOG-MISSING EV-000123 originals/ab/cd/<sha256 of the received event>
    LOG-DAMAGED EV-000123 expected <sha256 of the received event> got <sha256 of the file>
    CHAIN EV-000123 broken at event <n>
    ANCHOR-MISMATCH EV-000123 anchored head <hash> now <hash or -> (event <n>, anchor A-<n>)
    ANCHOR-ROOT A-<n> stored <root> leaves give <root>
    ANCHOR-LINK A-<n> does not name the root of the anchor before it
    ANCHOR-TOKEN A-<n> <TSA URL>: <why the timestamp no longer verifies>
    ANCHOR-LATE A-<n> made <time> but timestamped <time> by <TSA URL>
    ANCHOR-UNSTAMPED A-<n> made <time>: no valid token

The custody log is the reference (``evidence/files/fixity.py``): the hash the item's
``received`` event names must be the row's hash, or the row was pointed at
another file, however well that file matches the row. ``-`` stands for no hash
(a row without a file, a log without a ``received`` event). When the two
disagree, the file the log names is checked as well: ``LOG-MISSING`` and
``LOG-DAMAGED`` say the original as received is gone or altered too.

Every item checked gets a ``verified`` custody event whose details say what was
found: ``result`` is the fixity of the file the row names (``ok``,
``mismatch``, ``missing``, or ``no original`` for items without a file),
``observed`` the SHA-256 read from disk (empty if none), ``received`` the hash
of the log's ``received`` event (empty if none), ``log`` either ``ok`` or
``mismatch`` (row against log), ``received_original`` (only on a mismatch)
the state of the file the log names, and ``chain`` either ``ok`` or ``broken
at event <n>``.

Every anchored head of each item checked (``evidence.files.anchoring``) must still be
the event at that place in its chain: a chain rebuilt or cut short after it was
anchored is an ``ANCHOR-MISMATCH`` (``-``: the event is gone). Every anchor is checked
too, whichever items are named: its root recomputed from its leaves, its naming the root
before it, each token verified again offline under the roots trusted now
(``TRACKER_TSA_CA_FILE``), a token signed more than a day after its anchor (``ANCHOR-LATE``)
and, with TSAs configured, an anchor a day old without one (``ANCHOR-UNSTAMPED``).

A broken chain gets its ``verified`` event too. Appending repairs nothing and
hides nothing: the new event links to the last stored hash, so the break stays
where it is and every later verification reports it again, while the log
itself now records when the break was found. Not appending would leave the
one check that found tampering out of the custody record.

Items are read in primary-key batches, one query per batch for the items, one
for their chains and one for their ``received`` hashes, so memory stays bounded
however many items there are. Keyset batches rather than one long-running
cursor: a cursor held open for a run of many hours would keep SQLite's
write-ahead log from being checkpointed (and make PostgreSQL materialise the
whole result), while each batch here is a short query of its own.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from evidence.files import anchoring, custody, fixity
from evidence.files.storage import sha256_of as sha256_of  # importable here, as before
from evidence.models import Anchor, EvidenceItem
from tracker.batches import batches

BATCH = 500


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
        for batch in batches(items, BATCH):
            chains = custody.verify_chains(batch)
            received = custody.received_hashes(item.pk for item in batch)
            # Before this run's own ``verified`` events take the places of any cut off.
            problems += self.lines(anchoring.mismatches(item.pk for item in batch))
            for item in batch:
                found = fixity.verify(item, received[item.pk], chains[item.pk])
                problems += self.report(found, options["verbosity"])
                checked += 1
        # Every anchor, whichever items were named: a leaf removed names no item.
        problems += self.lines(anchoring.anchor_problems(Anchor.objects.order_by("pk")))
        if problems:
            raise CommandError(f"{problems} problem(s) in {checked} items.")
        self.stdout.write(f"OK {checked} items")

    def lines(self, lines: list[str]) -> int:
        for line in lines:
            self.stdout.write(line)
        return len(lines)

    def report(self, found: fixity.Verification, verbosity: int) -> int:
        """Print one item's problems (its ``verified`` event is recorded); count them."""
        lines = found.problems()
        for line in lines:
            self.stdout.write(line)
        if found.breaks and verbosity >= 2:
            for problem in found.breaks:
                self.stdout.write(f"  {problem}")
        return len(lines)
