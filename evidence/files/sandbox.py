"""Media work in a limited child process: FFmpeg's C code never runs in a web or worker
process.

``run("facts", path)`` starts ``python -m evidence.files.sandbox`` with an address-space
limit (``TRACKER_MEDIA_MEMORY_MB``), a CPU-time limit (``TRACKER_MEDIA_CPU_SECONDS``)
and a wall-clock limit, and no Django. The child calls one function of
``evidence.files.media``, writes its files into a fresh directory and prints one JSON
line. Whatever happens in it (a refusal, an exception, a crash, a limit reached), the
caller gets a dict or ``media.MediaFailed`` with a reason to record; the process that
asked is never harmed.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from evidence.files import media, media_copy

OPERATIONS = {
    "facts": lambda path, out, **options: media.read_facts(path).as_dict(),
    "keyframes": lambda path, out, **options: media.keyframes(path, out, **options),
    "playable": lambda path, out, **options: media_copy.playable(path, out / "copy.mp4", **options),
    "waveform": lambda path, out, **options: media_copy.waveform(path, out),
}
POLL_SECONDS = 5.0
NO_MEMORY = "not enough memory to decode it (TRACKER_MEDIA_MEMORY_MB)"
# A child that failed with its address space this close to its limit failed for want of
# memory, whatever the decoder said (a thread's stack, a frame that could not be had).
MEMORY_MARGIN = 32 * 1024 * 1024


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    """In the child, before it opens the file: memory, CPU time, no core dump, few open
    files, and no file written larger than 8 GiB (a playable copy is far smaller)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_FSIZE, (8 << 30, 8 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(
    operation: str,
    path: Path,
    out: Path,
    *,
    memory_mb: int,
    cpu_seconds: int,
    wall_seconds: int,
    waiting: Callable[[], None] | None = None,
    **options,
) -> dict:
    """Run ``operation`` on ``path`` in a limited child writing into ``out`` (an empty
    directory); ``waiting`` is called every few seconds while it works (to renew a
    job's lease)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown media operation {operation!r}")
    limits = [str(memory_mb * 1024 * 1024), str(cpu_seconds)]
    command = [sys.executable, "-m", "evidence.files.sandbox", operation, str(path), str(out)]
    command += [json.dumps(options), *limits]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)}
    # Its own process group: a timeout kills every thread and child of it.
    process = subprocess.Popen(  # noqa: S603 (our interpreter and module; a storage path)
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=str(out),
        process_group=0,
    )
    deadline = time.monotonic() + wall_seconds
    try:
        while True:
            try:
                left = max(0.01, deadline - time.monotonic())
                stdout, stderr = process.communicate(timeout=min(POLL_SECONDS, left))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise media.MediaFailed(
                        f"stopped after {wall_seconds} s (TRACKER_MEDIA_WALL_SECONDS)"
                    ) from None
                if waiting is not None:
                    waiting()
    finally:  # a limit reached, the lease's renewal failing, the worker stopped: no orphan
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return _answer(process.returncode, stdout, stderr)


def _answer(code: int, stdout: bytes, stderr: bytes) -> dict:
    lines = stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        said = json.loads(lines[-1]) if lines else None
    except ValueError:
        said = None
    if code == 0 and isinstance(said, dict) and "done" in said:
        return said["done"]
    if isinstance(said, dict) and "failed" in said:
        raise media.MediaFailed(str(said["failed"])[:250])
    if code < 0:
        reason = {
            int(signal.SIGXCPU): "its CPU-time limit (TRACKER_MEDIA_CPU_SECONDS)",
            int(signal.SIGKILL): "a kill (its memory limit, or the system)",
            int(signal.SIGSEGV): "a crash of the decoder",
        }.get(-code, f"signal {-code}")
        raise media.MediaFailed(f"the decoding process was stopped by {reason}")
    if b"MemoryError" in stderr or b"Cannot allocate memory" in stderr:
        raise media.MediaFailed(NO_MEMORY)
    raise media.MediaFailed(f"the decoding process ended with code {code}")


def main(argv: list[str]) -> int:
    operation, path, out, options = argv[1], Path(argv[2]), Path(argv[3]), json.loads(argv[4])
    memory = int(argv[5])
    if _starved(memory):  # a limit under what the child needs to start
        print(json.dumps({"failed": NO_MEMORY}))
        return 1
    _limit(memory, int(argv[6]))
    try:
        done = OPERATIONS[operation](path, out, **options)
    except MemoryError:
        print(json.dumps({"failed": NO_MEMORY}))
        return 1
    except Exception as exc:  # noqa: BLE001 - hostile bytes: any failure is a reason
        reason = str(exc) if isinstance(exc, media.MediaFailed) else _unexpected(exc)
        print(json.dumps({"failed": NO_MEMORY if _starved(memory) else reason}))
        return 1
    print(json.dumps({"done": done}))
    return 0


def _unexpected(exc: Exception) -> str:
    """A failure media did not foresee (a bug its input found), named for the flag."""
    return f"the file could not be read ({type(exc).__name__}: {media.why(exc)})"


def _starved(memory_bytes: int) -> bool:
    """Did this process come within MEMORY_MARGIN of its address-space limit? (Linux)"""
    try:
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmPeak:"))
    except (OSError, StopIteration, IndexError):
        return False
    return int(peak) * 1024 >= memory_bytes - MEMORY_MARGIN


if __name__ == "__main__":
    sys.exit(main(sys.argv))
