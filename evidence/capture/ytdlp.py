"""Video from the pages ``yt-dlp`` recognises (a post on X, a YouTube watch page...): the
video a page plays from its platform's own API, which the page's ``<video>`` element
does not name. Only its site extractors are used, never its generic one (the capture's
own look at the page finds ``<video>`` and ``<audio>`` sources), and all its networking
goes through the capture's gate (``gate``): every connection checked as a page's own
requests are, bytes and time counted against the capture's budget. No FFmpeg step: the
format chosen is one file as the platform serves it.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from evidence.capture import fetching, gate

# Which yt-dlp extractors may run (its ``allowed_extractors``): all but the generic one.
EXTRACTORS = ["default", "-generic"]
MAX_VIDEOS = 5
PARTIAL = (".part", ".ytdl", ".temp", ".json")


def recognised(url: str) -> bool:
    """Is ``url`` a page one of the allowed extractors knows?"""
    import re

    from yt_dlp.extractor import gen_extractor_classes

    refused = [rule[1:] for rule in EXTRACTORS if rule.startswith("-")]
    for extractor in gen_extractor_classes():
        name = extractor.ie_key().lower()
        if any(re.fullmatch(rule, name) for rule in refused):
            continue
        if extractor.suitable(url):
            return True
    return False


class _Said:
    """yt-dlp's messages: its errors kept for the capture's notes, the rest dropped."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, message: str) -> None:
        pass

    info = warning = debug

    def error(self, message: str) -> None:
        self.errors.append(message.removeprefix("ERROR: ")[:300])


def download(url: str, into: Path, budget: fetching.Budget) -> tuple[list[Path], list[str]]:
    """The videos yt-dlp finds for ``url``, downloaded into ``into`` through the gate;
    and what went wrong, in words. Nothing (and no note) for a page no extractor knows."""
    if not recognised(url):
        return [], []
    import yt_dlp

    into.mkdir(parents=True, exist_ok=True)
    said = _Said()
    with gate.opened(budget) as door:
        options = {
            "proxy": f"http://127.0.0.1:{door.server_address[1]}",
            "allowed_extractors": EXTRACTORS,
            "paths": {"home": str(into), "temp": str(into)},
            "outtmpl": {"default": "%(id).60s.%(ext)s"},
            "restrictfilenames": True,
            # Only what yt-dlp fetches itself (http, or HLS by its own downloader): never
            # a format handed to FFmpeg (rtmp, rtsp...), which would not use the gate.
            "format": "b[protocol^=http]/b[protocol^=m3u8]/bv*[protocol^=http]",
            "hls_prefer_native": True,
            "max_filesize": max(1, budget.max_bytes - budget.spent),
            "max_downloads": MAX_VIDEOS,
            "match_filter": yt_dlp.utils.match_filter_func("!is_live"),
            "socket_timeout": 30,
            "retries": 0,
            "fragment_retries": 0,
            "extractor_retries": 0,
            "fixup": "never",
            "cachedir": False,
            "noprogress": True,
            "quiet": True,
            "no_warnings": True,
            "logger": said,
        }

        def run() -> None:
            try:
                with yt_dlp.YoutubeDL(options) as tool:  # type: ignore[arg-type]
                    tool.download([url])
            except yt_dlp.utils.MaxDownloadsReached:
                pass
            except Exception as exc:  # noqa: BLE001 (a site's extractor may fail any way)
                said.errors.append(f"{exc.__class__.__name__}: {str(exc)[:200]}")

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        with contextlib.suppress(fetching.Refused):  # no time left: the gate shuts at once
            worker.join(budget.left())
        overran = worker.is_alive()
    if overran:  # the gate is shut: its connections are cut, the tool stops
        worker.join(10)
        said.errors.append("yt-dlp took longer than the capture's time")
    said.errors.extend(f"{asked}: {why}" for asked, why in door.refused)
    found = sorted(p for p in into.iterdir() if p.is_file() and not p.name.endswith(PARTIAL))
    return found, said.errors
