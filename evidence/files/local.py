"""Files on this machine's disk named on a command line (``ingest``,
``import_flightlog``): folders walked in sorted order, hidden names skipped and
symbolic links refused inside them; a file opened without following a link or
blocking on a FIFO; a path printed on one line whatever characters it holds."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One file to ingest, or one thing found that cannot be ingested."""

    path: str  # as the user can find it: the argument joined with the relative name
    name: str  # relative to the argument: the client file name kept as metadata
    follow: bool  # named on the command line: a symbolic link is followed
    refused: str = ""


def printable(path: str) -> str:
    """``path`` on one line: backslashes, control and invisible characters (anything
    ``str.isprintable`` refuses but the space) and undecodable bytes as escapes."""
    out = []
    for ch in path:
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def walk(argument: str, counter: dict[str, int]) -> Iterator[Entry]:
    """The files under ``argument``, depth first in sorted name order; a file argument
    is itself. Inside a directory, names starting with "." are skipped (counted in
    ``counter["hidden"]``), and a symbolic link, anything but a regular file and a
    directory that cannot be read are entries ``refused`` with the reason."""
    if not os.path.isdir(argument):
        yield Entry(argument, os.path.basename(argument), follow=True)
        return
    stack: list[tuple[str, Iterator[os.DirEntry]]] = []
    pending = [""]  # a directory (relative to the argument) to open next
    while pending or stack:
        if pending:
            relative = pending.pop()
            try:
                with os.scandir(os.path.join(argument, relative)) as it:
                    listing = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                shown = os.path.join(argument, relative, "")
                yield Entry(shown, relative, False, f"cannot read directory: {exc.strerror}")
                continue
            stack.append((relative, iter(listing)))
        relative, listing = stack[-1]
        entry = next(listing, None)
        if entry is None:
            stack.pop()
            continue
        name = os.path.join(relative, entry.name)
        path = os.path.join(argument, name)
        if entry.name.startswith("."):
            counter["hidden"] += 1
        elif entry.is_symlink():
            yield Entry(path, name, False, "symbolic link, not followed")
        elif entry.is_dir(follow_symlinks=False):
            pending.append(name)
        elif entry.is_file(follow_symlinks=False):
            yield Entry(path, name, False)
        else:
            yield Entry(path, name, False, "not a regular file")


class NotRegularFile(Exception):
    pass


def open_regular(entry: Entry):
    """Open for reading without following a link found in a walked tree, and
    without blocking on a FIFO swapped in since the walk."""
    flags = os.O_RDONLY | os.O_NONBLOCK
    if not entry.follow:
        flags |= os.O_NOFOLLOW
    fd = os.open(entry.path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
