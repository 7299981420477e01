"""The layout stays as docs/architecture.md maps it: every module listed, none over
the size that says it holds two ideas."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tracker", "evidence", "demo")


def modules() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            # Command modules are one per command (docs/cli.md); what they share is mapped.
            if {"tests", "migrations", "commands"} & set(parts) or path.name == "__init__.py":
                continue
            found.add(path.relative_to(ROOT).as_posix())
    return found


def mapped() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Module map", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([\w/]+\.py)`", section))
    # "wiring: `settings.py`, `urls.py`" names files of the package on its line
    for line in section.splitlines():
        if match := re.match(r"- `([\w/]+/)`", line.strip()):
            named |= {match[1] + name for name in re.findall(r"`(\w+\.py)`", line)}
    return {m for m in named if m.startswith(PACKAGES) and "/tests/" not in m}


def test_every_module_is_on_the_map_and_every_mapped_module_exists():
    assert modules() - mapped() == set(), "add these to docs/architecture.md's module map"
    assert mapped() - modules() == set(), "gone: take them off the map"


def test_every_package_says_what_it_holds():
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            parts = init.relative_to(ROOT).parts
            if {"tests", "migrations", "management", "templatetags"} & set(parts):
                continue
            if init.parent.name in PACKAGES:
                continue  # the apps themselves: described in docs/architecture.md
            assert init.read_text().startswith('"""'), f"{init} needs a docstring"


MOST_LINES = 500  # past this a module likely holds two ideas (docs/architecture.md)
DATA = {"demo/data.py"}  # the demo case's data: a table, not code


def test_no_module_of_code_is_over_the_size_of_one_idea():
    sizes = {m: len((ROOT / m).read_text().splitlines()) for m in modules() - DATA}
    assert {m: n for m, n in sizes.items() if n > MOST_LINES} == {}


def test_no_test_module_is_over_the_size_of_one_feature():
    """Tests mirror the code: one file per feature, split by topic past the same size."""
    tests = [
        path
        for folder in (*PACKAGES, "tests")
        for path in (ROOT / folder).rglob("*.py")
        if "tests" in path.relative_to(ROOT).parts
    ]
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in tests}
    assert {m: n for m, n in sizes.items() if n > MOST_LINES} == {}
