"""`make mutate`: mutation testing of the core modules with mutmut, and a report per module.

mutmut (configured in pyproject.toml, ``[tool.mutmut]``) copies the project to
``mutants/``, makes one-line changes ("mutants") to the functions of the modules listed
in ``only_mutate``, and runs against each those of the core modules' own tests
(``pytest_add_cli_args_test_selection``) that call the changed function (found by
running them once). A mutant the tests catch is *killed*; one they miss
*survived*: either a promise no test states, or a change that cannot alter behaviour
(an *equivalent* mutant), listed with its reason in scripts/equivalent_mutants.toml.

    python scripts/mutate.py                    # every core module
    python scripts/mutate.py tracker/responsibility/periods.py # one module
    python scripts/mutate.py --report           # the last results, without running
    python scripts/mutate.py --retest           # again, the mutants the tests missed

The run is bounded (``--minutes``, default 120); mutmut keeps its results in
``mutants/``, so a run stopped by the bound, or by Ctrl-C, goes on where it stopped the
next time. Exit status 0 when every module reaches the target (TARGET of its
non-equivalent mutants killed, none left unchecked); 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.90
EQUIVALENT_FILE = ROOT / "scripts" / "equivalent_mutants.toml"
# What mutmut's exit codes mean (mutmut.stats.status_by_exit_code, condensed).
STATUS = {1: "killed", 3: "killed", 37: "killed", 0: "survived", None: "not checked"}
TIMEOUTS = {36, 24, -24, 152, 255}
NO_TESTS = {5, 33}
CAUGHT = {"killed", "timeout"}


def core_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["only_mutate"])


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def status_of(code: int | None) -> str:
    if code in TIMEOUTS:
        return "timeout"
    if code in NO_TESTS:
        return "no tests"
    return STATUS.get(code, "suspicious")


def load_equivalents() -> dict[str, dict]:
    if not EQUIVALENT_FILE.exists():
        return {}
    entries = tomllib.loads(EQUIVALENT_FILE.read_text()).get("equivalent", [])
    return {entry["mutant"]: entry for entry in entries}


def mutated_lines(diff: str) -> list[str]:
    """The mutant's changed lines; for a mutant that only deletes, "deleted: <line>"."""
    lines = diff.splitlines()[2:]  # after the --- and +++ header
    added = [line[1:].strip() for line in lines if line.startswith("+")]
    return added or [f"deleted: {line[1:].strip()}" for line in lines if line.startswith("-")]


def diff_of(name: str, path: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return get_diff_for_mutant(name, path=path)
    finally:
        os.chdir(cwd)


def forget_plain_copies(modules: list[str]) -> None:
    """mutmut copies every source file to mutants/ and later takes an unchanged copy for
    one it has already mutated, and its record of which tests call which function
    covers only the modules mutated when it was made: a module added to only_mutate
    would never be mutated, then never tested."""
    added = False
    for path in modules:
        copy = ROOT / "mutants" / path
        if copy.exists() and not (ROOT / "mutants" / f"{path}.meta").exists():
            copy.unlink()
            added = True
    if added:
        (ROOT / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)


def forget_missed(modules: list[str]) -> int:
    """Clear the results of the mutants the tests missed (those listed as equivalent
    apart), so that the next run tests them again, with whatever tests exist now."""
    equivalent, count = load_equivalents(), 0
    for path in modules:
        meta = ROOT / "mutants" / f"{path}.meta"
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for name, code in codes.items():
            if code is not None and status_of(code) not in CAUGHT and name not in equivalent:
                codes[name] = None
                count += 1
        meta.write_text(json.dumps(data, indent=4))
    return count


def run_mutmut(modules: list[str], minutes: float, children: int, retest: bool) -> None:
    forget_plain_copies(modules)
    # SQLite: what differs on PostgreSQL (row locks) is tested there by `make test`.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    data = ROOT / "var" / "mutate"  # test databases of this run (conftest.py)
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    env.update(DJANGO_DEBUG="1", TRACKER_DATA_DIR=str(data))
    if retest:
        print(f"Testing again {forget_missed(modules)} mutants the tests missed.")
    if retest or set(modules) == set(core_modules()):
        names = []  # what has no result: new, changed since the last run, or forgotten
    else:
        names = [f"{module_name(m)}.*" for m in modules]  # all of them, again
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *names]
    print("$", " ".join(command), flush=True)
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    try:
        process.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        print(f"\nThe bound of {minutes:g} minutes is reached: stopping (results so far are kept).")
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def report(modules: list[str]) -> bool:
    """Print killed / survived / timeout per module; True if every module meets TARGET."""
    equivalents = load_equivalents()
    ok = True
    rows = []
    unexplained: list[tuple[str, str]] = []
    prefixes = tuple(module_name(path) + "." for path in modules)
    stale = {name for name in equivalents if name.startswith(prefixes)}
    for path in modules:
        meta = ROOT / "mutants" / f"{path}.meta"
        if not meta.exists():
            rows.append((path, None))
            ok = False
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter()
        for name, code in codes.items():
            status = status_of(code)
            if status == "not checked":
                stale.discard(name)  # judged before its run: not stale
            if status == "survived" and name in equivalents:
                diff = diff_of(name, path)
                if equivalents[name]["line"].strip() in mutated_lines(diff):
                    status = "equivalent"
                    stale.discard(name)
                else:  # the code changed since the mutant was judged equivalent
                    unexplained.append((name, diff))
            elif status in ("survived", "timeout", "suspicious", "no tests"):
                unexplained.append((name, diff_of(name, path)))
            counts[status] += 1
        rows.append((path, counts))
    width = max([len("module"), *(len(path) for path, _ in rows)]) + 2
    print()
    print(
        f"{'module':<{width}}{'mutants':>8}{'killed':>8}{'survived':>9}{'equiv.':>7}"
        f"{'timeout':>8}{'other':>7}{'unchecked':>10}{'killed %':>10}  target"
    )
    for path, counts in rows:
        if counts is None:
            print(f"{path:<{width}}  not run yet")
            continue
        total = sum(counts.values())
        judged = total - counts["equivalent"] - counts["not checked"]
        # A timeout is a kill: the mutant made the tests run forever, and they stopped it.
        caught = counts["killed"] + counts["timeout"]
        share = caught / judged if judged else 1.0
        other = counts["suspicious"] + counts["no tests"]
        met = share >= TARGET and not counts["not checked"]
        ok &= met
        print(
            f"{path:<{width}}{total:>8}{counts['killed']:>8}{counts['survived']:>9}"
            f"{counts['equivalent']:>7}{counts['timeout']:>8}{other:>7}"
            f"{counts['not checked']:>10}{share:>9.1%}  {'met' if met else 'NOT MET'}"
        )
    if unexplained:
        print(f"\n{len(unexplained)} mutants the tests miss, not listed as equivalent:\n")
        for name, diff in unexplained:
            print(f"# {name}")
            print("\n".join(line for line in diff.splitlines()[2:] if line[:1] in "+-"))
            print()
    if stale:
        print("Listed as equivalent but no longer a surviving mutant (remove them):")
        for name in sorted(stale):
            print(f"  {name}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules", nargs="*", help="paths such as tracker/responsibility/periods.py"
    )
    parser.add_argument("--minutes", type=float, default=120, help="bound of the run")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--report", action="store_true", help="only report the last results")
    parser.add_argument(
        "--retest", action="store_true", help="test again the mutants the tests missed"
    )
    args = parser.parse_args()
    modules = args.modules or core_modules()
    unknown = sorted(set(modules) - set(core_modules()))
    if unknown:
        parser.error(f"not a core module (pyproject.toml, only_mutate): {', '.join(unknown)}")
    if not args.report:
        run_mutmut(modules, args.minutes, args.children, args.retest)
    return 0 if report(modules) else 1


if __name__ == "__main__":
    sys.exit(main())
