"""Shared test fixtures: named personas and a private data directory per test."""

import fcntl
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from hypothesis import settings as hypothesis_settings

from tracker.tests.seed import ensure_seed_data

# Helpers that assert, shared by several test files: pytest explains their failures too.
pytest.register_assert_rewrite(
    "evidence.files.tests.bag_helpers",
    "evidence.flights.tests.correlation_helpers",
    "evidence.flights.tests.flightlog_helpers",
    "evidence.tests.files",
    "evidence.tests.intake_helpers",
    "evidence.tests.views_helpers",
    "tests.security.locked",
    "tests.security.pages",
    "tests.security.restricted",
    "tracker.responsibility.tests.chains",
    "tracker.tests.access_table",
    "tracker.tests.access_world",
    "tracker.tests.transitions",
)

# Property tests: no example database in the checkout, no deadline (the first example
# of a run pays for imports, and CI machines are shared).
hypothesis_settings.register_profile("tracker", database=None, deadline=None)
hypothesis_settings.load_profile("tracker")


# --- `make mutate` (scripts/mutate.py) ---------------------------------------------------
# mutmut runs the tests of each mutant in a fork, as a pytest session of its own, two or
# more at once. Each session takes a free slot, with that slot's SQLite test database;
# migrating a new database costs about ten seconds, so each slot keeps a copy of its
# freshly migrated database and every session starts from that copy.
MUTATING = "MUTANT_UNDER_TEST" in os.environ
_slot_locks = []


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    if not MUTATING:
        return
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        raise RuntimeError("make mutate runs on SQLite (scripts/mutate.py)")
    name = re.sub(r"_mutate\d+$", "", db["TEST"]["NAME"])
    db["TEST"]["NAME"] = f"{name}_mutate{_mutate_slot(settings.DATA_DIR)}"
    test_db = Path(db["TEST"]["NAME"])
    pristine = test_db.with_name(test_db.name + "-pristine")
    if pristine.exists():
        for leftover in test_db.parent.glob(test_db.name + "*"):
            if leftover != pristine:
                leftover.unlink()
        _sqlite_copy(pristine, test_db)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    if MUTATING:
        from django.conf import settings

        test_db = Path(settings.DATABASES["default"]["NAME"])  # the test database, now
        pristine = test_db.with_name(test_db.name + "-pristine")
        if not pristine.exists():
            _sqlite_copy(test_db, pristine)
    return django_db_setup


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _mutate_slot(directory) -> int:
    """The first slot no other live process holds (a lock released when it exits)."""
    for slot in range(64):
        handle = open(Path(directory) / f"mutate-slot-{slot}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _slot_locks.append(handle)
        return slot
    raise RuntimeError("no free test-database slot")


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


@pytest.fixture(autouse=True)
def _no_rate_counts():
    """Each test starts with no API calls counted against a rate (tracker.api.auth)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _work_runs_at_once(settings):
    """Background work (tracker.jobs) runs where it is asked for, on commit, unless a
    test chooses a queue and a worker (tracker/tests/test_jobs_queues.py)."""
    settings.TRACKER_TASKS_BACKEND = "immediate"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
