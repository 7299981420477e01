"""Fixity: are the bytes we hold, and the bytes we hand out, the ones received?

The reference is the custody log, not the item's row. The row's ``sha256`` and
``original_path`` are ordinary columns that anyone with database access can
point at another file; the hash in the item's ``received`` custody event is
sealed in the hash chain (``evidence.files.custody``), so changing it breaks the chain.
Every check here therefore compares three things: the file's bytes, the row,
and the log.

- ``check_item`` hashes one item's file and compares file, row and log; ``verify``
  adds the chain and records the ``verified`` custody event: the one per-item step
  of ``verify_evidence`` and of the scheduled pass (``evidence.files.fixity_runs``).
- ``VerifiedStream`` hashes a file while it is served and withholds the last
  chunk until the hash is known and matches (the download view uses it).

Files are hashed by ``storage.sha256_of``, the one way a file is hashed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from evidence.files import custody, storage
from evidence.files.storage import sha256_of
from evidence.models import CustodyEvent, EvidenceItem

log = logging.getLogger("evidence.files.custody")

# ``check_item`` results for the file at the row's path (``ItemFixity.result``).
OK = "ok"
MISMATCH = "mismatch"
MISSING = "missing"
NO_ORIGINAL = "no original"
# The row's hash against the log's (``ItemFixity.log``).
LOG_OK = "ok"
LOG_MISMATCH = "mismatch"


class FixityError(Exception):
    """Bytes being handed out are not the ones the custody log received."""


def stored_sha256(key: str) -> str | None:
    """The SHA-256 of the stored file ``key``; None if there is none (or no valid key)."""
    try:
        return sha256_of(storage.path_of(key))
    except (FileNotFoundError, ValueError):  # ValueError: not a storage key
        return None


def row_and_log_disagree(item: EvidenceItem, received: str) -> bool:
    """True if ``item``'s row names another hash than its ``received`` event
    (``received``: the log's hash, "" if the log has none; see
    ``custody.received_hashes``). An item without a file and without a
    ``received`` event agrees."""
    return item.sha256 != received


@dataclass(frozen=True)
class ItemFixity:
    """What ``check_item`` found for one item."""

    code: str
    row: str  # the row's sha256 ("" for an item without a file)
    received: str  # the log's received hash ("" if the log has none)
    result: str  # the file at the row's path against the row: OK, MISMATCH, MISSING, NO_ORIGINAL
    observed: str  # the SHA-256 read at the row's path ("" if none was read)
    # Only when row and log disagree and the log names a hash: the file the log
    # names, at its content address (OK, MISMATCH or MISSING).
    received_original: str = ""
    received_observed: str = ""  # what that file hashes to, if it is there

    @property
    def log(self) -> str:
        return LOG_MISMATCH if self.row != self.received else LOG_OK

    def problems(self) -> list[str]:
        """One line per problem, in the form ``verify_evidence`` prints."""
        lines = []
        if self.result == MISSING:
            lines.append(f"MISSING {self.code}")
        elif self.result == MISMATCH:
            lines.append(f"MISMATCH {self.code} expected {self.row} got {self.observed}")
        if self.log == LOG_MISMATCH:
            lines.append(
                f"LOG-MISMATCH {self.code} row {self.row or '-'} log {self.received or '-'}"
            )
            if self.received_original == MISSING:
                lines.append(f"LOG-MISSING {self.code} {storage.original_key(self.received)}")
            elif self.received_original == MISMATCH:
                lines.append(
                    f"LOG-DAMAGED {self.code} expected {self.received} got {self.received_observed}"
                )
        return lines

    def details(self) -> dict[str, str]:
        """What the ``verified`` custody event records (besides the chain)."""
        found = {
            "result": self.result,
            "observed": self.observed,
            "received": self.received,
            "log": self.log,
        }
        if self.received_original:
            found["received_original"] = self.received_original
        return found


def _state(found: str | None, expected: str) -> str:
    if found is None:
        return MISSING
    return OK if found == expected else MISMATCH


def check_item(item: EvidenceItem, received: str) -> ItemFixity:
    """Hash ``item``'s file and compare it with the row, and the row with the log.

    ``received`` is the hash the item's ``received`` custody event names ("" if
    none). When row and log disagree, the file the log names is checked too
    (present at its content address, and holding those bytes): that file is the
    original; the row was pointed elsewhere. That costs one more read, only for
    an item already in trouble.
    """
    if not item.sha256:
        result, observed = NO_ORIGINAL, ""
    else:
        found = stored_sha256(item.original_path)
        result, observed = _state(found, item.sha256), found or ""
    received_original = received_observed = ""
    if received and row_and_log_disagree(item, received):
        found = stored_sha256(storage.original_key(received))
        received_original, received_observed = _state(found, received), found or ""
    return ItemFixity(
        code=item.code,
        row=item.sha256,
        received=received,
        result=result,
        observed=observed,
        received_original=received_original,
        received_observed=received_observed,
    )


@dataclass(frozen=True)
class Verification:
    """One item verified: its fixity (``check_item``) and its chain's breaks."""

    found: ItemFixity
    breaks: tuple[custody.ChainBreak, ...]

    @property
    def chain(self) -> str:
        return f"broken at event {self.breaks[0].sequence}" if self.breaks else "ok"

    def problems(self) -> list[str]:
        """One line per problem, as ``verify_evidence`` prints them."""
        lines = self.found.problems()
        if self.breaks:
            lines.append(f"CHAIN {self.found.code} {self.chain}")
        return lines

    @property
    def result(self) -> str:
        """The first problem in this order, else the file's result (``OK`` or
        ``NO_ORIGINAL``): ``MISMATCH``/``MISSING``, ``LOG_MISMATCH``, ``CHAIN_BROKEN``
        (``FixityCheck.Result``'s values)."""
        if self.found.result in (MISMATCH, MISSING):
            return self.found.result
        if self.found.log == LOG_MISMATCH:
            return "log mismatch"
        if self.breaks:
            return "chain broken"
        return self.found.result


def verify(
    item: EvidenceItem,
    received: str,
    breaks: list[custody.ChainBreak],
    *,
    record_sound: bool = True,
) -> Verification:
    """Check ``item``'s file, row and log (``check_item``; ``received`` as there), take
    its chain's ``breaks`` (``custody.verify_chains``), and record a ``verified``
    custody event saying what was found: for every item, or with ``record_sound=False``
    only for an item with a problem (the scheduled pass keeps its own record of the
    sound ones)."""
    found = Verification(check_item(item, received), tuple(breaks))
    if record_sound or found.problems():
        custody.record(
            item,
            CustodyEvent.Action.VERIFIED,
            observed_sha256=found.found.observed,
            details={**found.found.details(), "chain": found.chain},
        )
    return found


class VerifiedStream:
    """A file's bytes in chunks, hashed as they go, the last chunk held back.

    Each chunk is handed out only once the next one has been read, so at the end
    of the file the hash of everything is known *before* the last chunk leaves.
    Then:

    - if it equals every hash in ``expected`` (the row's and the log's), then
      ``on_verified(hash)`` runs (the download view records the
      custody event there) and only then is the last chunk yielded: no event, no
      complete file;
    - otherwise ``on_failed(hash, sent)`` runs and ``FixityError`` is raised: the
      server aborts the response, so the client holds fewer bytes than
      Content-Length announced and knows the transfer failed.

    ``close()`` (called by Django when the response is closed) closes the file;
    if the end was never reached (the client went away, or nothing was read),
    ``on_interrupted(sent)`` runs first. ``sent`` counts the bytes yielded so far.
    A file of one chunk or less is never sent on a mismatch.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        expected: tuple[str, ...],
        on_verified: Callable[[str], None] | None = None,
        on_failed: Callable[[str, int], None] | None = None,
        on_interrupted: Callable[[int], None] | None = None,
        chunk_size: int = storage.CHUNK,
    ) -> None:
        if not expected:
            raise ValueError("VerifiedStream needs the hash the bytes must have")
        self._stream = stream
        self._expected = expected
        self._on_verified = on_verified
        self._on_failed = on_failed
        self._on_interrupted = on_interrupted
        self._chunk_size = chunk_size
        self._ended = self._closed = False
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        digest = hashlib.sha256()
        pending = self._stream.read(self._chunk_size)
        digest.update(pending)
        while chunk := self._stream.read(self._chunk_size):
            digest.update(chunk)
            self.sent += len(pending)
            yield pending
            pending = chunk
        self._ended = True
        served = digest.hexdigest()
        if not all(served == expected for expected in self._expected):
            if self._on_failed is not None:
                self._on_failed(served, self.sent)
            raise FixityError(f"served bytes hash to {served}, expected {self._expected[0]}")
        if self._on_verified is not None:
            self._on_verified(served)
        if pending:
            self.sent += len(pending)
            yield pending

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if not self._ended and self._on_interrupted is not None:
                self._on_interrupted(self.sent)
        finally:
            self._stream.close()
