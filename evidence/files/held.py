"""An upload held across a form's errors, so that the file need not be chosen again.

A browser never sends a file twice: when a form refuses its other fields (or the import
refuses the file as it stands, for want of a time zone, say), the bytes it received
would be lost. ``hold`` stages them in the private staging area (``storage.stage``:
hashed, size-limited, swept after ``storage.STAGING_MAX_AGE``) and returns a token that
names them, signed and bound to the user who sent them; the form sends the token back
in a hidden field and ``claim`` opens the file again, for that user only. Anything else
in that field (another name, another user's token, an expired or forged one) claims
nothing.

A held file is not evidence: the form hands it to the import only once it is valid,
exactly as a fresh upload, and ``release`` removes it once it is no longer needed.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.core import signing

from evidence.files import storage

SALT = "evidence.files.held"
_STAGED_NAME = re.compile(r"[0-9a-f]{32}")  # what storage.stage names a file: a uuid4


@dataclass(frozen=True)
class Held:
    token: str  # for the form's hidden field
    name: str  # the file's name as it was uploaded
    size: int
    path: Path


def hold(upload: BinaryIO, *, name: str, user) -> Held:
    """Stage ``upload`` (read from its start) for ``user``. Raises ``storage.TooLarge``
    past the upload limit, as the intake would."""
    upload.seek(0)
    staged = storage.stage(upload)
    token = signing.dumps({"file": staged.path.name, "name": name, "user": user.pk}, salt=SALT)
    return Held(token=token, name=name, size=staged.size, path=staged.path)


def claim(token: str, *, user) -> Held | None:
    """The file ``token`` holds for ``user``; None if it holds none for them (forged,
    another user's, older than the staging area keeps files, or released)."""
    try:
        found = signing.loads(token, salt=SALT, max_age=storage.STAGING_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(found, dict) or found.get("user") != user.pk:
        return None
    staged, name = found.get("file"), found.get("name")
    if not isinstance(staged, str) or not _STAGED_NAME.fullmatch(staged):
        return None
    path = storage.root() / "staging" / staged
    try:
        info = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return Held(token=token, name=str(name or staged), size=info.st_size, path=path)


def release(held: Held) -> None:
    held.path.unlink(missing_ok=True)
