"""Terminal output of long commands: a one-line progress bar, drawn only on a
terminal, and a way to keep per-file INFO log lines from drawing over it.

When the stream is not a terminal (a log file, a pipe, a test) the bar writes
nothing, so redirected output stays clean.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from typing import TextIO

_MIN_INTERVAL = 0.1  # seconds between redraws; the last step is always drawn


class Progress:
    """``done/total [#####.....] pct%`` on one line of ``stream``.

    Call ``clear()`` before writing other output to the same terminal and
    ``advance()`` afterwards; ``close()`` removes the bar."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self._drawn = False
        self._last_draw = 0.0

    def advance(self, step: int = 1) -> None:
        self.done = min(self.done + step, self.total)
        now = time.monotonic()
        if self.done < self.total and now - self._last_draw < _MIN_INTERVAL:
            return
        self._last_draw = now
        self._draw()

    def clear(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def close(self) -> None:
        self.clear()

    def render(self, width: int) -> str:
        """The bar text for a terminal ``width`` columns wide."""
        count = f"{self.done}/{self.total}"
        pct = f"{100 * self.done // self.total if self.total else 100:3d}%"
        room = max(width - len(count) - len(pct) - 5, 0)
        cells = min(room, 40)
        filled = cells * self.done // self.total if self.total else cells
        return f"{count} [{'#' * filled}{'.' * (cells - filled)}] {pct}"

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size(fallback=(80, 24)).columns
        self.stream.write("\r\x1b[K" + self.render(width))
        self.stream.flush()
        self._drawn = True


@contextlib.contextmanager
def quiet_info(name: str) -> Iterator[None]:
    """Keep only warnings and errors of logger ``name`` (and its children) meanwhile."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
