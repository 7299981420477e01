"""An upload held across a form's errors (``evidence.files.held``): claimed again by its
sender only, with a token nobody can point at another file."""

from __future__ import annotations

import io
import os

import pytest
from django.core import signing

from evidence.files import held, storage

pytestmark = pytest.mark.django_db

DATA = b"observed_at,station\n2019-05-13 09:42,KFN-1\n"


def staged_files() -> list[str]:
    folder = storage.root() / "staging"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_sender_claims_the_held_bytes_again(researcher):
    kept = held.hold(io.BytesIO(DATA), name="spotters.csv", user=researcher)

    claimed = held.claim(kept.token, user=researcher)

    assert claimed is not None
    assert (claimed.name, claimed.size, claimed.path) == ("spotters.csv", len(DATA), kept.path)
    assert claimed.path.read_bytes() == DATA
    assert staged_files() == [kept.path.name]
    assert oct(kept.path.stat().st_mode & 0o777) == "0o600"  # the staging area's mode


def test_a_stream_already_read_is_held_from_its_start(researcher):
    stream = io.BytesIO(DATA)
    stream.read()  # as an import that refused the file leaves it
    assert held.hold(stream, name="a.csv", user=researcher).path.read_bytes() == DATA


def test_another_user_claims_nothing(researcher, other_researcher):
    kept = held.hold(io.BytesIO(DATA), name="spotters.csv", user=researcher)
    assert held.claim(kept.token, user=other_researcher) is None


def test_a_forged_or_altered_token_claims_nothing(researcher):
    kept = held.hold(io.BytesIO(DATA), name="spotters.csv", user=researcher)
    secret_file = storage.root() / "originals" / "ab" / "cd" / ("ab" * 32)
    secret_file.parent.mkdir(parents=True)
    secret_file.write_bytes(b"someone else's evidence")

    forged = {"file": "../originals/ab/cd/" + "ab" * 32, "name": "x", "user": researcher.pk}
    for token in (
        kept.token[:-2] + ("AA" if not kept.token.endswith("AA") else "BB"),  # altered
        signing.dumps(forged, salt="another.salt"),  # signed for another purpose
        signing.dumps(forged, salt=held.SALT),  # even signed with our key: not a staged name
        "",
        "not a token",
    ):
        assert held.claim(token, user=researcher) is None, token


def test_a_token_older_than_the_staging_area_keeps_files_claims_nothing(researcher, monkeypatch):
    kept = held.hold(io.BytesIO(DATA), name="spotters.csv", user=researcher)
    monkeypatch.setattr(storage, "STAGING_MAX_AGE", -1)
    assert held.claim(kept.token, user=researcher) is None


def test_a_released_file_is_gone_and_claims_nothing(researcher):
    kept = held.hold(io.BytesIO(DATA), name="spotters.csv", user=researcher)

    held.release(kept)

    assert staged_files() == []
    assert held.claim(kept.token, user=researcher) is None


def test_a_link_in_place_of_the_held_file_claims_nothing(researcher, tmp_path):
    kept = held.hold(io.BytesIO(DATA), name="spotters.csv", user=researcher)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not the upload")
    kept.path.unlink()
    os.symlink(elsewhere, kept.path)

    assert held.claim(kept.token, user=researcher) is None


def test_nothing_is_held_past_the_upload_limit(researcher, settings):
    settings.TRACKER_MAX_UPLOAD_BYTES = 10
    with pytest.raises(storage.TooLarge):
        held.hold(io.BytesIO(DATA), name="spotters.csv", user=researcher)
    assert staged_files() == []
