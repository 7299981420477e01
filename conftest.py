"""Shared test fixtures: named personas and a private data directory per test."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.db import connection

SEED = importlib.import_module("tracker.migrations.0002_seed_vocabularies_and_roles")


def ensure_seed_data() -> None:
    """Transactional tests end with a flush that also empties what the data
    migration seeded (roles, vocabularies, code counters); put it back."""
    if not Group.objects.filter(name="Editor").exists():
        SEED.seed(apps, SimpleNamespace(connection=connection))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test accounts need no brute-force resistance; hashing them slowly only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path, settings):
    """Evidence files of each test go to its own directory, never to ./var."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def _member(username: str, group: str | None, **extra) -> User:
    ensure_seed_data()
    user = User.objects.create_user(
        username, password="correct-horse-battery", is_staff=True, **extra
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def researcher(db) -> User:
    return _member("researcher", "Researcher")


@pytest.fixture
def other_researcher(db) -> User:
    return _member("other_researcher", "Researcher")


@pytest.fixture
def reviewer(db) -> User:
    return _member("reviewer", "Reviewer")


@pytest.fixture
def editor(db) -> User:
    return _member("editor", "Editor")


@pytest.fixture
def outsider(db) -> User:
    """A logged-in account with no role on the case."""
    return User.objects.create_user("outsider", password="correct-horse-battery")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("admin", password="correct-horse-battery")
