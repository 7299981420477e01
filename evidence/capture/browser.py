"""A page loaded in headless Chromium for a capture, every request it makes fetched by
the tracker itself (``fetching.exchange``) and recorded as WARC.

Chromium (Debian's package, driven by Playwright) never reaches the network: every
request it makes is intercepted (``context.route``) and fetched here, so each one, the
page and every image, script, frame, redirect and media request, is checked against
the capture's rules (scheme, public addresses only, bytes and time) before it leaves,
and is written to the WARC as the server sent it. As a second lock Chromium's proxy, for
every address, loopback included, is a dead end of ours (``gate.dead_end``) that closes
each connection, so a request that is not intercepted (a WebSocket, say) goes nowhere;
and WebRTC may send no UDP at all.

What the page may do is limited too: no service workers, no downloads, pop-ups closed
and their requests refused, at most ``max_resources`` requests, and every step (load,
text, screenshot, PDF) within its own time so that a page whose JavaScript never stops
still leaves a capture with what was fetched. Large bodies and media are kept in the
WARC but not handed to the browser (which need not play a video to capture it). And a
browser that stops answering altogether is killed past the capture's time and ``GRACE``
(``processes``): the capture keeps what was fetched and says so.

The result (``Loaded``) is plain data: no database here; ``capturing`` stores it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from warcio.warcwriter import WARCWriter

from evidence.capture import fetching, gate, processes

log = logging.getLogger(__name__)
VIEWPORT = {"width": 1280, "height": 900}
# The tallest full-page screenshot (pixels); a longer page is cut here.
SCREENSHOT_MAX_HEIGHT = 16000
# Bodies larger than this reach the WARC, not the browser.
BROWSER_BODY_MAX = 8 * 1024 * 1024
# An image is "media on the page" when its larger side has at least this many pixels.
MEDIA_IMAGE_SIDE = 300
MAX_MEDIA = 40
# The visible text kept (characters), and the refused requests listed one by one.
TEXT_MAX = 1_000_000
REFUSED_LISTED = 500
STEP_SECONDS = 15.0
# How long past the capture's time a browser that stopped answering is waited for, before
# it is killed, and again after (``load``).
GRACE = 30.0
ARGS = [
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--dns-prefetch-disable",
    "--mute-audio",
    # WebRTC's UDP (STUN, TURN) is not a request Chromium hands over: none at all.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    # Nothing leaves Chromium by itself: its proxy is a dead end (``gate.dead_end``) and
    # loopback is not bypassed.
    "--proxy-bypass-list=<-loopback>",
]
# Response headers Chromium must not get from us as they were: the body it receives is
# the one we hand it, whole and unencoded (we ask for identity).
_NOT_HANDED = {"content-length", "transfer-encoding", "connection", "keep-alive"}
_MEDIA_JS = """() => {
  const seen = [];
  for (const img of document.images) {
    seen.push({kind: 'image', url: img.currentSrc || img.src,
               width: img.naturalWidth, height: img.naturalHeight});
  }
  for (const el of document.querySelectorAll('video, audio')) {
    const urls = [el.currentSrc, el.src,
                  ...Array.from(el.querySelectorAll('source')).map(s => s.src)];
    for (const url of urls) if (url) seen.push({kind: el.tagName.toLowerCase(), url});
  }
  return seen.filter(m => m.url && /^https?:/.test(m.url));
}"""


class Unavailable(Exception):
    """Chromium cannot be started here; the capture keeps the plain HTTP exchange."""


@dataclass
class Media:
    kind: str  # image, video, audio
    url: str
    body: Path | None = None  # as fetched (status 200), None when not
    content_type: str = ""
    name: str = ""  # a file name for people: the address's last part

    def __post_init__(self) -> None:
        if not self.name:
            last = unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])
            self.name = last[:120] or self.kind


@dataclass
class Loaded:
    url: str
    final_url: str = ""
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    redirects: list[tuple[int, str]] = field(default_factory=list)
    address: str = ""
    title: str = ""
    text: str = ""
    screenshot: Path | None = None
    pdf: Path | None = None
    media: list[Media] = field(default_factory=list)
    requests: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (url, why)
    not_made: list[str] = field(default_factory=list)
    refused_more: int = 0  # refused beyond those listed
    version: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # each step's time


def executable() -> str:
    return settings.TRACKER_CHROMIUM


def available() -> bool:
    path = executable()
    return bool(path) and os.access(path, os.X_OK)


def load(url: str, work: Path, warc: WARCWriter, budget: fetching.Budget) -> Loaded:
    """Load ``url`` in Chromium, recording into ``warc``; files go under ``work``.
    Raises Unavailable when Chromium is missing or will not start."""
    if not available():
        raise Unavailable(f"Chromium is not installed at {executable() or '(not set)'}.")
    session = _Session(url, work, warc, budget)

    # Waited for as long as the capture may take and GRACE more: a browser that stops
    # answering (its page's JavaScript, a fault) is then killed; no worker waits forever.
    wait = budget.left() + GRACE  # before the session starts: a spent budget starts none
    ended = processes.in_thread(session.run())
    try:
        return ended.result(timeout=wait)
    except concurrent.futures.TimeoutError:
        pass
    except BaseException:  # the worker itself is stopped (a signal, Ctrl-C): no browser left
        processes.kill_trees(session.driven())
        raise
    waited = processes.waiting(session.loop)  # where it stopped, before the kill moves it
    killed = processes.kill_trees(session.driven())
    log.warning(
        "capture of %s: the browser stopped answering; %d processes killed%s", url, killed, waited
    )
    try:  # what the session fetched is kept, once its calls have failed and it has ended
        ended.exception(timeout=GRACE)
    except concurrent.futures.TimeoutError:
        raise fetching.Refused("The browser stopped answering and could not be stopped.") from None
    session.loaded.not_made.append("the browser stopped answering: stopped")
    return session.loaded


class _Session:
    def __init__(self, url: str, work: Path, warc: WARCWriter, budget: fetching.Budget):
        self.loaded = Loaded(url=fetching.target(url).url)
        self.work, self.warc, self.budget = work, warc, budget
        self.lock = threading.Lock()
        self.bodies = work / "bodies"
        self.bodies.mkdir(exist_ok=True)
        self.answers: dict[str, fetching.Answer] = {}
        # Requests on their way, by address: the media step waits for them rather than
        # fetching a large video a second time.
        self.inflight: dict[str, asyncio.Future] = {}
        self.page = None
        self.redirect_to = ""
        self.settled = False  # the page's own address is loaded: it goes nowhere else
        self.max_requests = settings.TRACKER_CAPTURE_MAX_REQUESTS
        self.fetching = asyncio.Semaphore(6)  # as many at once as a browser would open
        # The Playwright driver started for this session (and those there before it).
        self.drivers: set[int] = set()
        self.before: set[int] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def run(self) -> Loaded:
        from playwright.async_api import Error, async_playwright

        self.loop = asyncio.get_running_loop()
        self.before = processes.drivers()
        async with async_playwright() as playwright, gate.dead_end() as dead_end:
            self.drivers = processes.drivers() - self.before
            args = [*ARGS, f"--proxy-server=http://127.0.0.1:{dead_end}"]
            try:
                browser = await playwright.chromium.launch(
                    executable_path=executable(),
                    args=args + (["--no-sandbox"] if os.geteuid() == 0 else []),
                    timeout=30_000,
                )
            except Error as exc:
                raise Unavailable(f"Chromium did not start ({str(exc).splitlines()[0]}).") from None
            self.loaded.version = browser.version
            context = None
            try:
                context = await browser.new_context(
                    viewport=VIEWPORT,
                    accept_downloads=False,
                    service_workers="block",
                    user_agent=fetching.USER_AGENT,
                )
                await context.route("**/*", self._handle)
                context.on("page", self._popup)
                self.page = await context.new_page()
                await self._steps()
            finally:
                # The page first (it asks for nothing more), then the requests still in
                # hand are let go quietly: thousands of them would hold Chromium's
                # closing up past the capture's time, each logging an error.
                with contextlib.suppress(TimeoutError, Error):
                    if self.page is not None:
                        await asyncio.wait_for(self.page.close(), 5)
                with contextlib.suppress(TimeoutError, Error):
                    if context is not None:
                        await asyncio.wait_for(context.unroute_all(behavior="ignoreErrors"), 5)
                with contextlib.suppress(TimeoutError, Error):
                    await asyncio.wait_for(browser.close(), 10)
        return self.loaded

    def driven(self) -> set[int]:
        """The session's driver, if it still runs (a child not yet reaped, so its pid is
        not another's); found anew if it stopped answering before it was recorded."""
        now = processes.drivers()
        if self.drivers:
            return self.drivers & now
        return now - self.before if self.before is not None else set()

    def _refuse(self, refusal: tuple[str, str]) -> None:
        """Note a request not made; past REFUSED_LISTED only counted (a page may make
        thousands, each with an address of any length)."""
        url, why = refusal
        if len(self.loaded.refused) < REFUSED_LISTED:
            self.loaded.refused.append((url[:500], why[:300]))
        else:
            self.loaded.refused_more += 1

    async def _popup(self, page) -> None:
        if page is not self.page and self.page is not None:
            self._refuse((page.url, "a pop-up: closed"))
            await page.close()

    async def _handle(self, route) -> None:
        from playwright.async_api import Error

        request = route.request
        try:
            origin = request.frame.page
        except Error:
            origin = None
        if origin is not self.page:
            self._refuse((request.url, "asked for by a pop-up or a worker"))
            return await route.abort("blockedbyclient")
        main = request.is_navigation_request() and request.frame == self.page.main_frame
        if main and self.settled:
            # Captured where it loaded: a script sending the page elsewhere afterwards
            # (location.href, a refresh, a download) is not followed.
            self._refuse((request.url, "the page went on to another address"))
            return await route.abort("aborted")
        if self.loaded.requests >= self.max_requests:
            self._refuse((request.url, f"more than {self.max_requests} requests: not fetched"))
            return await route.abort("blockedbyclient")
        self.loaded.requests += 1
        into = self.bodies / str(self.loaded.requests)
        arrived = asyncio.get_running_loop().create_future()
        with contextlib.suppress(fetching.Refused):  # a refused one is refused below
            self.inflight.setdefault(fetching.target(request.url).url, arrived)
        try:
            async with self.fetching:
                answer = await asyncio.to_thread(
                    fetching.exchange,
                    request.url,
                    into,
                    self.budget,
                    method=request.method,
                    headers=list((await request.all_headers()).items()),
                    data=request.post_data_buffer,
                    warc=self.warc,
                    warc_lock=self.lock,
                )
        except fetching.Refused as exc:
            self._refuse((request.url, str(exc)))
            # A page refused another address keeps the one it has (no error page).
            return await route.abort("aborted" if main else "addressunreachable")
        finally:
            if not arrived.done():
                arrived.set_result(None)  # the media step looks in ``answers``
        if answer.status in fetching.REDIRECTS and answer.header("Location"):
            # Chromium would follow a redirect it is handed without asking us again:
            # the page's own address moves on by goto (``_steps``), anything else's here.
            location = urljoin(answer.url, answer.header("Location"))
            if request.is_navigation_request() and request.frame == self.page.main_frame:
                self.loaded.redirects.append((answer.status, location))
                self.redirect_to = location
                return await route.abort("aborted")
            answer = await self._follow(location)
            if answer is None:
                return await route.abort("addressunreachable")
        for address in (fetching.target(request.url).url, answer.url):
            self.answers.setdefault(address, answer)
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.loaded.final_url, self.loaded.status = answer.url, answer.status
            self.loaded.headers, self.loaded.address = answer.headers, answer.address
        handed = answer.size <= BROWSER_BODY_MAX and request.resource_type != "media"
        body = answer.body.read_bytes() if handed else b""
        encoding = answer.header("Content-Encoding").strip().lower()
        decoded = fetching.decoded(body, encoding, BROWSER_BODY_MAX) if body and encoding else None
        headers: dict[str, str] = {}
        for name, value in answer.headers:
            lowered = name.lower()
            if lowered in _NOT_HANDED or (decoded is not None and lowered == "content-encoding"):
                continue
            joint = "\n" if lowered == "set-cookie" else ", "
            headers[name] = f"{headers[name]}{joint}{value}" if name in headers else value
        try:
            await route.fulfill(status=answer.status, headers=headers, body=decoded or body)
        except Error:  # the page has gone, or Chromium refused a header: the WARC has it
            with contextlib.suppress(Error):
                await route.abort("failed")

    async def _follow(self, location: str) -> fetching.Answer | None:
        """A sub-resource's redirects, followed here (each hop checked and recorded)."""
        for _ in range(fetching.MAX_REDIRECTS):
            answer = await self._exchange(location)
            if answer is None:
                return None
            if answer.status not in fetching.REDIRECTS or not answer.header("Location"):
                return answer
            location = urljoin(answer.url, answer.header("Location"))
        self._refuse((location, f"more than {fetching.MAX_REDIRECTS} redirects"))
        return None

    async def _step(self, name: str, work, seconds: float = STEP_SECONDS):
        """Run one step within its time; None (and noted) when it fails or overruns."""
        from playwright.async_api import Error

        started = time.monotonic()
        try:
            return await asyncio.wait_for(work, min(seconds, self.budget.left()))
        except (TimeoutError, Error, fetching.Refused) as exc:
            reason = "took too long" if isinstance(exc, TimeoutError) else "failed"
            self.loaded.not_made.append(f"{name}: {reason}")
            return None
        finally:
            self.loaded.seconds[name] = time.monotonic() - started
            work.close()  # not awaited at all when no time was left

    async def _steps(self) -> None:
        page = self.page
        timeout = min(settings.TRACKER_CAPTURE_SECONDS / 2, self.budget.left())
        from playwright.async_api import Error

        url = self.loaded.url
        started = time.monotonic()
        for _ in range(fetching.MAX_REDIRECTS + 1):
            self.redirect_to = ""
            try:
                await page.goto(url, wait_until="commit", timeout=timeout * 1000)
                # Loaded is the document's own "complete", not the load event Playwright
                # would wait for: a script that sends the page on while it loads (to a
                # refused address, a download) would hold that one back to the timeout.
                left = max(1.0, timeout - (time.monotonic() - started)) * 1000
                await page.wait_for_function("document.readyState === 'complete'", timeout=left)
            except Error as exc:
                if self.redirect_to:  # the page's address moved: go there (checked again)
                    url = self.redirect_to
                    continue
                # A page that never finishes loading is kept as far as it came.
                self.loaded.not_made.append(f"the page did not finish loading ({_first(exc)})")
            break
        else:
            self._refuse((url, f"more than {fetching.MAX_REDIRECTS} redirects"))
        self.loaded.seconds["load"] = time.monotonic() - started
        self.settled = True
        # The page's answer is the one of the document shown (a navigation that became
        # a download or was refused did not replace it).
        shown = page.url.startswith(("http://", "https://")) and self.answers.get(
            fetching.target(page.url).url
        )
        if shown and shown.status not in fetching.REDIRECTS:
            self.loaded.final_url, self.loaded.status = shown.url, shown.status
            self.loaded.headers, self.loaded.address = shown.headers, shown.address
        if not self.loaded.final_url:
            return  # no document at all (refused or unreachable): nothing to render
        # document.title, not page.title(): that says "Loading <url>" while the page
        # is asked to go elsewhere (a navigation refused, a download).
        title = await self._step("title", page.evaluate("() => document.title"), 5)
        if title is None:  # the page does not answer (JavaScript that never stops)
            self.loaded.not_made.append("text, screenshot, PDF: the page stopped answering")
            return
        # What the page's scripts return is the page's to choose: checked, not trusted.
        self.loaded.title = " ".join(str(title).split())[:300]
        text = await self._step("visible text", page.inner_text("body"))
        self.loaded.text = text[:TEXT_MAX] if isinstance(text, str) else ""
        found = await self._step("media", page.evaluate(_MEDIA_JS))
        height = await self._step(
            "page height", page.evaluate("() => document.documentElement.scrollHeight"), 5
        )
        shot = self.work / "screenshot.png"
        clip = {
            "x": 0,
            "y": 0,
            "width": VIEWPORT["width"],
            "height": min(_pixels(height) or VIEWPORT["height"], SCREENSHOT_MAX_HEIGHT),
        }
        if await self._step(
            "screenshot",
            page.screenshot(path=shot, full_page=True, clip=clip, animations="disabled"),
        ):
            self.loaded.screenshot = shot
        pdf = self.work / "page.pdf"
        if await self._step("PDF", page.pdf(path=pdf, print_background=True)):
            self.loaded.pdf = pdf
        started = time.monotonic()
        await self._media(found if isinstance(found, list) else [])
        self.loaded.seconds["media files"] = time.monotonic() - started

    async def _media(self, found: list) -> None:
        """The page's images over MEDIA_IMAGE_SIDE (or too large to hand the browser) and
        its video and audio sources, as fetched for the page (waiting for a request still
        on its way), or fetched now (a video the page did not load yet)."""
        chosen: dict[str, Media] = {}
        for seen in found[: MAX_MEDIA * 20]:
            if not isinstance(seen, dict) or len(chosen) >= MAX_MEDIA:
                continue
            url, kind = str(seen.get("url", ""))[:2000], str(seen.get("kind", ""))
            try:
                address = fetching.target(url).url
                media = Media(kind=kind, url=url)
            except (fetching.Refused, ValueError) as exc:
                self._refuse((url, f"media on the page: {exc}"))
                continue
            if address in chosen or kind not in ("image", "video", "audio"):
                continue
            if address in self.inflight:
                with contextlib.suppress(TimeoutError, fetching.Refused):
                    await asyncio.wait_for(
                        asyncio.shield(self.inflight[address]), self.budget.left()
                    )
            answer = self.answers.get(address)
            if kind == "image":
                side = max(_pixels(seen.get("width")), _pixels(seen.get("height")))
                large = answer is not None and answer.size > BROWSER_BODY_MAX
                if side < MEDIA_IMAGE_SIDE and not large:
                    continue
            chosen[address] = media
        for address, media in chosen.items():
            answer = self.answers.get(address)
            if answer is None and media.kind != "image":
                answer = await self._exchange(media.url)
                if answer is not None and answer.status in fetching.REDIRECTS:
                    answer = await self._follow(urljoin(answer.url, answer.header("Location")))
            if answer is not None and answer.status == 200:
                media.body, media.content_type = answer.body, answer.header("Content-Type")
            self.loaded.media.append(media)

    async def _exchange(self, url: str) -> fetching.Answer | None:
        """A GET of our own (a redirect's next hop, a video the page did not load yet),
        counted, checked and recorded as the page's own requests are."""
        if self.loaded.requests >= self.max_requests:
            self._refuse((url, f"more than {self.max_requests} requests"))
            return None
        self.loaded.requests += 1
        into = self.bodies / str(self.loaded.requests)
        try:
            async with self.fetching:
                return await asyncio.to_thread(
                    fetching.exchange, url, into, self.budget, warc=self.warc, warc_lock=self.lock
                )
        except fetching.Refused as exc:
            self._refuse((url, str(exc)))
            return None


def _pixels(value) -> int:
    """A size a page's script reported, if it is one (not NaN, text or an object)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return max(0, min(int(value), 1_000_000))


def _first(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
