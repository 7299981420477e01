"""Shared test fixtures: named personas and a private data directory per test."""

import pytest
from django.contrib.auth.models import Group, Permission, User

from tracker.tests.seed import ensure_seed_data


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
def identity_holder(db) -> User:
    """A researcher to whom an administrator granted the protected-identity permission."""
    user = _member("identity_holder", "Researcher")
    user.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    return user


@pytest.fixture
def outsider(db) -> User:
    """A logged-in account with no role on the case."""
    return User.objects.create_user("outsider", password="correct-horse-battery")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("admin", password="correct-horse-battery")
