"""The documentation stays true to the repository: README.md stays short, every
relative link in README.md and docs/ leads to a file that exists, every management
command of the project has its section in docs/cli.md, and every variable of
.env.example is described in docs/deploying.md.

Only files are read: no database, no settings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 200

# Directories that hold no project code: tools, data, caches and copies of the tree.
SKIPPED_DIRS = {".git", ".venv", "var", "mutants", "node_modules", "__pycache__"}

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+).+?\1", re.S)
# [text](target) and ![alt](target), with an optional "title"; <target> for spaces.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def links(text: str) -> list[str]:
    """The link targets of a Markdown text, outside code blocks and code spans."""
    prose = INLINE_CODE.sub("", FENCE.sub("", text))
    found = INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)
    return [target.strip("<>") for target in found]


def relative_target(target: str) -> str | None:
    """The file part of a relative link; None for a URL, a mail address or an anchor."""
    if SCHEME.match(target) or target.startswith(("#", "//")):
        return None
    return unquote(target.split("#", 1)[0].split("?", 1)[0]) or None


def command_names() -> list[str]:
    """Every management command module of the project, found on disk."""
    names = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        path = Path(folder)
        if path.name == "commands" and path.parent.name == "management":
            names.update(
                name.removesuffix(".py")
                for name in files
                if name.endswith(".py") and not name.startswith("_")
            )
    return sorted(names)


def env_example_variables() -> list[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.M)


def named(name: str, text: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text) is not None


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; at most {README_MAX_LINES}: move detail to docs/"
    )


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_files_that_exist(page):
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        path = relative_target(target)
        if path is None:
            continue
        resolved = (ROOT / path.lstrip("/")) if path.startswith("/") else page.parent / path
        if not resolved.exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_link_finder_sees_links_and_skips_code():
    text = (
        'See [a](docs/a.md#part), ![b](img/b.png "B"), [c](<with space.md>),\n'
        "[d](https://example.org/x.md), [e](#anchor), `[f](in-code.md)`\n"
        "[g]: ref/g.md\n"
        "```\n[h](in-fence.md)\n```\n"
    )
    targets = [relative_target(t) for t in links(text)]
    assert sorted(t for t in targets if t) == [
        "docs/a.md",
        "img/b.png",
        "ref/g.md",
        "with space.md",
    ]


def test_commands_are_found():
    names = command_names()
    # Two commands of each app, as a check that the search walks both.
    assert {"ingest", "verify_evidence", "backup", "load_demo"} <= set(names)


def test_every_management_command_has_its_section_in_cli_md():
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    headings = "\n".join(line for line in cli.splitlines() if line.startswith("#"))
    missing = [name for name in command_names() if not named(name, headings)]
    assert not missing, f"docs/cli.md has no section for: {', '.join(missing)}"


def test_every_variable_of_env_example_is_described_in_deploying_md():
    variables = env_example_variables()
    assert len(variables) > 20  # the parser found the file's settings
    deploying = (DOCS / "deploying.md").read_text(encoding="utf-8")
    missing = [name for name in variables if not named(name, deploying)]
    assert not missing, f"docs/deploying.md does not describe: {', '.join(missing)}"


def test_docs_cite_the_projects_own_formats():
    for page in markdown_files():
        text = page.read_text(encoding="utf-8")
        assert "shared/formats" not in text, (
            f"{page.relative_to(ROOT)} cites shared/formats/: the formats are docs/formats/"
        )


def test_the_rule_table_of_corroboration_is_the_codes():
    """docs/corroboration.md lists the rules in the order, words and grades of
    ``evidence.corroboration.rules.RULES``, and the checks' thresholds as the code has them."""
    from evidence.corroboration import checks, facts, rules

    text = (DOCS / "corroboration.md").read_text()
    rows = re.findall(r"^\| ([a-z ]+) \| (.+?) \| ([a-z]+) \|$", text, re.M)
    expected = [(rule.name, rule.when, rule.grade or "nothing") for rule in rules.RULES]
    assert rows[: len(expected)] == expected
    assert f"at least {checks.FLIGHT_SCORE:.2f}" in text
    assert f"{int(checks.CLOCK_SLACK.total_seconds() // 60)} minutes" in text
    assert f"{checks.AFTERMATH.days} days" in text
    assert f"plus {checks.VIEW_KM:g} km" in text
    for km in facts.SITE_KM.values():
        assert f"| {km:g} |" in text
