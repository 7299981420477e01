"""The processes of a capture's browser, found and killed when it stops answering, and
the thread its session's event loop runs in.

Playwright runs its driver (Node.js, ``run-driver``) as a child of this process, and the
driver runs Chromium and Chromium its own processes. A page's JavaScript, or a fault in
any of them, must never hold a worker past the capture's time: ``browser.load`` waits for
the session as long as the capture may take and a little more, then kills the driver
and everything below it (``kill_trees``). The session's calls waiting on the driver then
fail at once (its pipe is closed), and the session ends with what it had fetched.

Linux's ``/proc`` is read; elsewhere nothing is found and nothing is killed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import threading
from collections import defaultdict
from pathlib import Path

PROC = Path("/proc")


def in_thread(coroutine) -> concurrent.futures.Future:
    """``coroutine`` run by an event loop in a daemon thread of its own (the caller's
    thread may run a loop already: a test driving a browser of its own); its outcome, to
    wait for with a timeout."""
    ended: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        try:
            ended.set_result(asyncio.run(coroutine))
        except BaseException as exc:  # handed to the waiting thread
            ended.set_exception(exc)

    threading.Thread(target=run, name="capture-browser", daemon=True).start()
    return ended


def _parents() -> dict[int, int]:
    """pid -> parent pid, of every process now."""
    found = {}
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                # After "pid (name)", whatever the name holds: state, then the parent.
                found[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
    return found


def drivers() -> set[int]:
    """This process's children that are Playwright drivers."""
    me = os.getpid()
    found = set()
    for pid, parent in _parents().items():
        if parent == me:
            with contextlib.suppress(OSError):
                if b"run-driver" in (PROC / str(pid) / "cmdline").read_bytes().split(b"\0"):
                    found.add(pid)
    return found


def kill_trees(roots: set[int]) -> int:
    """SIGKILL ``roots`` and every process below them; how many were killed."""
    children = defaultdict(list)
    for pid, parent in _parents().items():
        children[parent].append(pid)
    doomed, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in doomed:
            doomed.add(pid)
            todo.extend(children.get(pid, ()))
    killed = 0
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


def waiting(loop: asyncio.AbstractEventLoop | None) -> str:
    """Where the first tasks of ``loop`` (another thread's) wait, each as the chain of
    coroutines it awaits through, for the log of a browser killed: best effort."""
    out = []
    with contextlib.suppress(Exception):  # the loop's tasks changed meanwhile
        tasks = list(asyncio.all_tasks(loop) if loop else ())
        tasks.sort(key=lambda task: "playwright" in repr(task.get_coro()))  # ours first
        for task in tasks[:10]:
            out.append(f"{task.get_name()}:")
            coroutine, depth = task.get_coro(), 0
            while coroutine is not None and depth < 12:
                frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
                if frame is None:
                    break
                out.append(
                    f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
                )
                coroutine = getattr(coroutine, "cr_await", None) or getattr(
                    coroutine, "gi_yieldfrom", None
                )
                depth += 1
    return "; its tasks wait at:\n" + "\n".join(out) if out else ""
