"""The Content-Security-Policy: what every page gets, what the evidence file views keep
for themselves, how the map tiles' origin is allowed, and no inline script or style
left in a template (the browser proof is tests/e2e/test_csp_browser.py)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

from evidence import intake
from evidence.tests.files import make_jpeg

pytestmark = pytest.mark.django_db
PROJECT_ROOT = settings.BASE_DIR


def directives(header: str) -> dict[str, list[str]]:
    """'a x y; b z' -> {'a': ['x', 'y'], 'b': ['z']}"""
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_pages_get_the_strict_policy(client, editor):
    client.force_login(editor)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["img-src"][:2] == ["'self'", "data:"]
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header


def test_login_page_and_refusals_carry_the_policy_too(client):
    assert "Content-Security-Policy" in client.get(reverse("admin:login"))
    refused = client.get(reverse("admin:index"), HTTP_HOST="evil.example")
    assert refused.status_code == 400
    assert "script-src 'self'" in refused["Content-Security-Policy"]


def test_evidence_original_keeps_its_own_stricter_policy(client, researcher):
    """django-csp adds its header only when a response has none: the original's
    "default-src 'none'; sandbox" must reach the browser unchanged."""
    item = intake.ingest(
        io.BytesIO(make_jpeg()), filename="IMG_0001.jpg", kind="photo", by=researcher
    ).item
    client.force_login(researcher)
    response = client.get(reverse("evidence:original", args=[item.code]))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    b"".join(response.streaming_content)  # close the file


SHOW_POLICY = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))"
)


def _img_src(tmp_path, tile_url: str) -> subprocess.CompletedProcess:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "TRACKER_", "DATABASE_", "DB_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tracker.project.settings",
        TRACKER_DATA_DIR=str(tmp_path / "data"),
        TRACKER_MAP_TILE_URL=tile_url,
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", SHOW_POLICY],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("tile_url", "allowed"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        (
            "https://{s}.tiles.example.org:8443/osm/{z}/{x}/{y}.png",
            "https://*.tiles.example.org:8443",
        ),
        ("http://10.0.0.5/tiles/{z}/{x}/{y}.png", "http://10.0.0.5"),
    ],
)
def test_map_tiles_are_allowed_from_their_origin_only(tmp_path, tile_url, allowed):
    result = _img_src(tmp_path, tile_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["'self'", "data:", allowed]


@pytest.mark.parametrize(
    "tile_url",
    ["tile.openstreetmap.org/{z}/{x}/{y}.png", "javascript:alert(1)", "https://a@b.example/{z}"],
)
def test_a_tile_url_that_is_no_http_origin_refuses_to_start(tmp_path, tile_url):
    result = _img_src(tmp_path, tile_url)
    assert result.returncode != 0
    assert "TRACKER_MAP_TILE_URL must be an http(s) URL template" in result.stderr


# --- No inline script or style left in a template -------------------------------------

INLINE = [
    (
        re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")", re.I),
        "inline <script>",
    ),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"<style\b", re.I), "inline <style>"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
]


def _templates():
    roots = [PROJECT_ROOT / "templates", *PROJECT_ROOT.glob("*/templates")]
    for root in roots:
        yield from sorted(root.rglob("*.html"))


def test_the_scan_finds_what_it_looks_for():
    sample = '<a onclick="x()">1</a><script>go()</script><p style="left: 1%">'
    found = {label for pattern, label in INLINE if pattern.search(sample)}
    assert found == {"inline event handler", "inline <script>", "style attribute"}
    assert not any(p.search('<script src="/static/a.js" defer></script>') for p, _ in INLINE)


def test_no_template_has_inline_script_or_style():
    problems = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {label}"
        for path in _templates()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for pattern, label in INLINE
        if pattern.search(line)
    ]
    assert list(_templates())
    assert problems == []
