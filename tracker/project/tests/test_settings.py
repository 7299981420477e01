"""tracker.project.settings: a development default with nothing set, a production mode
that refuses to start half-configured, and the database options it promises."""

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

PROJECT_ROOT = settings.BASE_DIR
GOOD_SECRET = "k" * 20 + "-0123456789-abcdefghijklmnopqrstuvwxyz"  # 58 characters
SHOW_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, "
    "'secret': s.SECRET_KEY, 'zone': s.TIME_ZONE, 'use_tz': s.USE_TZ, "
    "'engine': s.DATABASES['default']['ENGINE'], 'db': str(s.DATABASES['default']['NAME']), "
    "'data_dir': str(s.DATA_DIR)}))"
)


def _start(tmp_path, **variables: str) -> subprocess.CompletedProcess:
    """Run ``django.setup()`` in a fresh interpreter with only ``variables`` configured."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "TRACKER_", "DATABASE_", "DB_"))
    }
    env["DJANGO_SETTINGS_MODULE"] = "tracker.project.settings"
    env["TRACKER_DATA_DIR"] = str(tmp_path / "data")
    env.update(variables)
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", SHOW_SETTINGS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _settings_of(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _refusal(result: subprocess.CompletedProcess) -> str:
    """The last line of the traceback: the exception a deployer reads."""
    assert result.returncode != 0, result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:"), result.stderr
    return last_line


def test_development_starts_with_nothing_set(tmp_path):
    shown = _settings_of(_start(tmp_path))
    assert shown["debug"] is True
    assert shown["hosts"] == ["127.0.0.1", "localhost", "[::1]"]
    assert shown["secret"]
    assert shown["zone"] == "Asia/Damascus"
    assert shown["use_tz"] is True
    assert shown["engine"] == "django.db.backends.sqlite3"
    # The database and files go where TRACKER_DATA_DIR says, nowhere else.
    assert shown["data_dir"] == str((tmp_path / "data").resolve())
    assert shown["db"] == str((tmp_path / "data" / "tracker.sqlite3").resolve())
    assert (tmp_path / "data" / "tmp").is_dir()


def test_production_without_secret_key_refuses_to_start(tmp_path):
    message = _refusal(_start(tmp_path, DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="example.org"))
    assert "DJANGO_SECRET_KEY" in message
    assert "DJANGO_DEBUG=0" in message


def test_production_with_a_short_secret_key_refuses_to_start(tmp_path):
    message = _refusal(
        _start(
            tmp_path,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="x" * 49,
            DJANGO_ALLOWED_HOSTS="example.org",
        )
    )
    assert "DJANGO_SECRET_KEY" in message
    assert "50" in message


def test_production_without_allowed_hosts_refuses_to_start(tmp_path):
    message = _refusal(_start(tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY=GOOD_SECRET))
    assert "DJANGO_ALLOWED_HOSTS" in message


def test_production_with_secret_key_and_hosts_starts(tmp_path):
    shown = _settings_of(
        _start(
            tmp_path,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=GOOD_SECRET,
            DJANGO_ALLOWED_HOSTS="tracker.example.org, 10.0.0.5",
        )
    )
    assert shown["debug"] is False
    assert shown["secret"] == GOOD_SECRET
    assert shown["hosts"] == ["tracker.example.org", "10.0.0.5"]


def test_captures_reach_private_networks_only_in_development(tmp_path):
    production = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": GOOD_SECRET,
        "DJANGO_ALLOWED_HOSTS": "tracker.example.org",
        "TRACKER_CAPTURE_ALLOW_PRIVATE": "1",
    }
    assert "TRACKER_CAPTURE_ALLOW_PRIVATE=1" in _refusal(_start(tmp_path, **production))


@pytest.mark.parametrize(
    "proxy",
    [
        "tor",
        "127.0.0.1:9050",
        "socks4://127.0.0.1:9050",
        "https://proxy.example.org:3128",
        "socks5h://127.0.0.1",
        "http://proxy.example.org:http",
        "socks5://127.0.0.1:70000",
        "http://proxy.example.org:3128/some/path",
        "socks5h://team:s3cret@127.0.0.1",
    ],
)
def test_capture_proxy_must_be_socks5_or_http_with_a_port(tmp_path, proxy):
    message = _refusal(_start(tmp_path, TRACKER_CAPTURE_PROXY=proxy))
    assert "TRACKER_CAPTURE_PROXY must be socks5h://host:port" in message
    assert "s3cret" not in message  # the proxy's password is never shown


def test_capture_proxy_forms_that_start(tmp_path):
    for proxy in [
        "socks5h://127.0.0.1:9050",
        "socks5://team:s3cret@proxy.example.org:1080",
        "http://[::1]:3128/",
    ]:
        assert _settings_of(_start(tmp_path, TRACKER_CAPTURE_PROXY=proxy))
    too_long = f"socks5h://{'u' * 256}:p@127.0.0.1:9050"  # SOCKS5 logins hold 255 bytes
    assert "at most 255 bytes" in _refusal(_start(tmp_path, TRACKER_CAPTURE_PROXY=too_long))


def test_debug_must_be_a_recognised_boolean(tmp_path):
    message = _refusal(_start(tmp_path, DJANGO_DEBUG="maybe"))
    assert "DJANGO_DEBUG" in message
    assert "'maybe'" in message


def test_time_zone_must_be_an_iana_zone(tmp_path):
    message = _refusal(_start(tmp_path, TRACKER_TIME_ZONE="Mars/Olympus"))
    assert "TRACKER_TIME_ZONE" in message
    assert "Mars/Olympus" in message


def test_time_zone_from_the_environment_is_used(tmp_path):
    assert _settings_of(_start(tmp_path, TRACKER_TIME_ZONE="Europe/Kyiv"))["zone"] == "Europe/Kyiv"


def test_database_url_that_cannot_be_parsed_refuses_to_start(tmp_path):
    message = _refusal(_start(tmp_path, DATABASE_URL="nosuchdb://whatever"))
    assert "DATABASE_URL" in message


# --- The running configuration -------------------------------------------------------


def test_times_are_stored_time_zone_aware():
    assert settings.USE_TZ is True
    assert timezone.is_aware(timezone.now())


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite journal mode")
def test_sqlite_uses_write_ahead_log():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite transaction mode")
def test_sqlite_transactions_take_the_write_lock_at_begin():
    """IMMEDIATE: a transaction that has only read so far already blocks other
    writers, so two read-then-write transactions queue instead of deadlocking."""
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
    try:
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            connection.cursor().execute("SELECT COUNT(*) FROM tracker_codecounter")
            # Readers are not blocked (WAL) ...
            assert other.execute("SELECT COUNT(*) FROM tracker_codecounter").fetchone()
            # ... but a second writer is, before this transaction has written anything.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        assert any(q["sql"] == "BEGIN IMMEDIATE" for q in queries.captured_queries)
        other.execute("BEGIN IMMEDIATE")  # released at commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def _deploy_check(tmp_path, **variables: str) -> subprocess.CompletedProcess:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "TRACKER_", "DATABASE_", "DB_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tracker.project.settings",
        TRACKER_DATA_DIR=str(tmp_path / "data"),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x7Gq2-" + "pR9vLm4TzK8wNc1YbHs5JdF3eUa6QiOo0XyVtZgBnMkWlEpCr",
        DJANGO_ALLOWED_HOSTS="tracker.example.org",
        **variables,
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deploy_check_with_no_warning(tmp_path):
    result = _deploy_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_deploy_check_fails_when_https_is_switched_off(tmp_path):
    result = _deploy_check(tmp_path, DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # HSTS
    assert "security.W008" in result.stderr + result.stdout  # SSL redirect


def test_sessions_end_when_idle_and_at_browser_close(client, researcher, monkeypatch):
    from django.contrib.sessions.models import Session

    from tracker.accounts import sessions

    client.force_login(researcher)
    assert client.session.get_expire_at_browser_close() is True
    key = client.session.session_key
    first = Session.objects.get(session_key=key).expire_date
    assert client.get("/admin/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date == first  # no write per request
    later = time.time() + sessions.REFRESH_SECONDS + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    assert client.get("/admin/").status_code == 200
    refreshed = Session.objects.get(session_key=key).expire_date
    assert refreshed > first  # the idle clock restarted
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


def test_proxy_header_must_be_header_and_value(tmp_path):
    refusal = _refusal(_start(tmp_path, DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"))
    assert "DJANGO_SECURE_PROXY_SSL_HEADER must be HEADER,value" in refusal
    assert _settings_of(
        _start(tmp_path, DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")
    )
