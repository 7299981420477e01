"""deploy/: what can be checked without root or a running server.

The gunicorn config loads through gunicorn's own validators, and the nginx site,
the systemd unit, .env.example, the settings and the code agree with each other
(the X-Accel-Redirect prefix, the data and static dirs, the upload limit, the
socket). `make serve` / `make loadtest` are read with `make -n`, never run here.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory
from gunicorn.config import Config

from evidence.files import storage

ROOT = settings.BASE_DIR
DEPLOY = ROOT / "deploy"
NGINX = (DEPLOY / "nginx" / "tracker.conf").read_text()
UNIT = (DEPLOY / "systemd" / "tracker.service").read_text()
WORKER_UNIT = (DEPLOY / "systemd" / "tracker-worker@.service").read_text()


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def unit_settings(unit: str = UNIT) -> dict[str, list[str]]:
    """Key -> values of the systemd unit (a key may repeat)."""
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def nginx_block(location: str) -> str:
    """The body of ``location <location> { ... }`` (our blocks do not nest)."""
    found = re.search(r"location " + re.escape(location) + r" \{(.*?)\n    \}", NGINX, re.S)
    assert found, f"no `location {location}` in the nginx site"
    return found.group(1)


def directive(block: str, name: str) -> list[str]:
    """The arguments of each ``name ...;`` line (a quoted ";" does not end it)."""
    return re.findall(rf'^\s*{name}\s+((?:"[^"]*"|[^;"])*);', block, re.M)


def gunicorn_config(monkeypatch, **variables: str) -> dict:
    for name in list(os.environ):
        if name.startswith("GUNICORN_"):
            monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    # Load it as gunicorn does (app/base.py): every known setting through its validator.
    config = Config()
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name, value)
    return {name: config.settings[name].get() for name in config.settings}


# --- gunicorn ---------------------------------------------------------------------------


def test_gunicorn_defaults_are_sane(monkeypatch):
    config = gunicorn_config(monkeypatch)
    cores = len(os.sched_getaffinity(0))
    assert config["workers"] == min(2 * cores + 1, 8)
    # Threads keep the heartbeat going during a long upload (a sync worker would be killed).
    assert config["worker_class"] == "gthread"
    assert config["threads"] >= 2
    assert 30 <= config["timeout"] <= config["graceful_timeout"]
    assert config["wsgi_app"] == "tracker.project.wsgi:application"
    assert config["bind"] == ["127.0.0.1:8001"]
    assert config["control_socket_disable"] is True
    assert config["secure_scheme_headers"] == {"X-FORWARDED-PROTO": "https"}
    assert config["umask"] == 0o007  # the socket: owner and group (nginx) only


def test_gunicorn_access_log_is_off_and_never_holds_query_strings(monkeypatch):
    assert gunicorn_config(monkeypatch)["accesslog"] is None
    config = gunicorn_config(monkeypatch, GUNICORN_ACCESS_LOG="-")
    assert config["accesslog"] == "-"
    log_format = config["access_log_format"]
    assert "%(U)s" in log_format  # the path
    for leak in ("%(r)s", "%(q)s", "%(f)s", "{referer}i"):  # request line, query, referrer
        assert leak not in log_format


def test_gunicorn_reads_its_numbers_from_the_environment(monkeypatch):
    config = gunicorn_config(monkeypatch, GUNICORN_WORKERS="4", GUNICORN_THREADS="8")
    assert (config["workers"], config["threads"]) == (4, 8)
    with pytest.raises(ImproperlyConfigured, match="GUNICORN_WORKERS must be at least 1"):
        gunicorn_config(monkeypatch, GUNICORN_WORKERS="0")
    with pytest.raises(ImproperlyConfigured, match="GUNICORN_THREADS must be a whole number"):
        gunicorn_config(monkeypatch, GUNICORN_THREADS="many")


# --- nginx ------------------------------------------------------------------------------


def test_nginx_sends_originals_only_from_an_internal_location_under_the_prefix():
    env = env_example()
    prefix = env["TRACKER_X_ACCEL_REDIRECT_PREFIX"]
    assert prefix == "/protected"
    # What evidence/views.py puts in X-Accel-Redirect for an original.
    redirect = f"{prefix}/{storage.original_key('ab' * 32)}"
    location = f"{prefix}/originals/"
    assert redirect.startswith(location)
    block = nginx_block(location)
    assert re.search(r"^\s*internal;$", block, re.M)
    assert directive(block, "alias") == [f"{env['TRACKER_DATA_DIR']}/originals/"]
    assert directive(block, "default_type") == ["application/octet-stream"]
    headers = directive(block, "add_header")
    assert "X-Content-Type-Options nosniff always" in headers
    assert "Content-Security-Policy \"default-src 'none'; sandbox\" always" in headers
    # The rest of the prefix is internal too, and serves nothing.
    rest = nginx_block(f"{prefix}/")
    assert re.search(r"^\s*internal;$", rest, re.M)
    assert directive(rest, "return") == ["404"]
    assert "alias" not in rest


def test_nginx_sends_derivatives_only_from_an_internal_location_under_the_prefix():
    env = env_example()
    prefix = env["TRACKER_X_ACCEL_REDIRECT_PREFIX"]
    location = f"{prefix}/derivatives/"
    # What evidence/views.py puts in X-Accel-Redirect for each kind of derivative.
    for kind in ("thumbnail", "preview", "keyframe", "playable"):
        assert f"{prefix}/{storage.derivative_key('ab' * 32, kind)}".startswith(location)
    block = nginx_block(location)
    assert re.search(r"^\s*internal;$", block, re.M)
    assert directive(block, "alias") == [f"{env['TRACKER_DATA_DIR']}/derivatives/"]
    assert directive(block, "default_type") == ["application/octet-stream"]
    assert "X-Content-Type-Options nosniff always" in directive(block, "add_header")


def test_nginx_serves_static_files_from_static_root():
    env = env_example()
    assert settings.STATIC_URL.strip("/") == "static"
    block = nginx_block("/static/")
    assert directive(block, "alias") == [env["TRACKER_STATIC_ROOT"] + "/"]


def test_nginx_accepts_the_largest_upload_and_little_more():
    limit = int(env_example()["TRACKER_MAX_UPLOAD_BYTES"])
    assert limit == 4 * 1024**3  # the documented default
    (size,) = directive(NGINX, "client_max_body_size")
    assert size.endswith("m")
    body_bytes = int(size[:-1]) * 1024**2
    assert limit < body_bytes <= limit + 16 * 1024**2


def test_nginx_proxies_to_gunicorn_with_headers_it_sets_itself():
    block = nginx_block("/")
    headers = dict(value.split(None, 1) for value in directive(block, "proxy_set_header"))
    # Django trusts exactly the header nginx sets (.env.example), and nginx overwrites it.
    proxy_header = env_example()["DJANGO_SECURE_PROXY_SSL_HEADER"]
    assert proxy_header == "HTTP_X_FORWARDED_PROTO,https"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["Host"] == "$host"
    # Set, not appended ($proxy_add_x_forwarded_for keeps what the client sent); the
    # login protection reads the client from the last entry, one proxy deep.
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert env_example()["TRACKER_PROXY_COUNT"] == "1"
    assert directive(block, "proxy_request_buffering") == ["off"]
    # The upstream is the socket the systemd unit makes gunicorn bind.
    (upstream,) = re.findall(r"^\s*server (unix:\S+)", NGINX, re.M)
    assert f"Environment=GUNICORN_BIND={upstream}" in UNIT


def test_nginx_logs_paths_without_query_strings():
    (log_format,) = re.findall(r"log_format tracker_paths (.*?);", NGINX, re.S)
    assert "$tracker_path" in log_format
    for leak in ("$request ", "$request_uri", "$args", "$query_string", "$http_referer"):
        assert leak not in log_format
    # $tracker_path is $request_uri up to the "?".
    assert re.search(
        r'map \$request_uri \$tracker_path \{\s*"~\^\(\?<path>\[\^\?\]\*\)" \$path;', NGINX
    )
    access_logs = directive(NGINX, "access_log")
    assert access_logs and all(
        value == "off" or value.endswith(" tracker_paths") for value in access_logs
    )


# --- systemd ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [UNIT, WORKER_UNIT], ids=["web", "worker"])
def test_systemd_unit_is_hardened(text):
    unit = unit_settings(text)
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "PrivateDevices": "yes",
        "UMask": "0027",  # files 0640, directories 0750
        "User": "tracker",
        "Group": "tracker",
        "CapabilityBoundingSet": "",
    }.items():
        assert unit.get(key) == [value], key
    # The data dir is the only place it may write.
    assert unit["ReadWritePaths"] == [env_example()["TRACKER_DATA_DIR"]]
    assert unit["EnvironmentFile"] == ["/etc/tracker/tracker.env"]


def test_systemd_unit_runs_our_gunicorn_config_and_waits_for_uploads(monkeypatch):
    unit = unit_settings()
    (exec_start,) = unit["ExecStart"]
    assert exec_start.endswith("/.venv/bin/gunicorn -c deploy/gunicorn.conf.py")
    assert unit["Type"] == ["notify"]
    assert unit["RuntimeDirectory"] == ["tracker"]  # /run/tracker, for the socket
    (bind,) = [v for v in unit["Environment"] if v.startswith("GUNICORN_BIND=")]
    assert bind == "GUNICORN_BIND=unix:/run/tracker/gunicorn.sock"
    # systemd must not kill gunicorn before its graceful timeout has passed.
    graceful = gunicorn_config(monkeypatch)["graceful_timeout"]
    assert int(unit["TimeoutStopSec"][0]) > graceful


def test_the_worker_unit_runs_our_worker_and_lets_its_job_finish():
    unit = unit_settings(WORKER_UNIT)
    assert unit["ExecStart"] == ["/srv/tracker/app/.venv/bin/python manage.py worker"]
    assert unit["KillSignal"] == ["SIGTERM"]  # the job in hand finishes first
    assert int(unit["TimeoutStopSec"][0]) >= 60
    web = unit_settings()
    for key in ("SystemCallFilter", "ProtectProc", "RestrictNamespaces", "ProtectKernelTunables"):
        assert unit[key] == web[key], key


# --- make serve / make loadtest ---------------------------------------------------------


def make_dry_run(target: str) -> str:
    result = subprocess.run(  # noqa: S603 - make from PATH, a fixed target
        ["make", "-n", target],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def test_make_serve_runs_gunicorn_on_a_fresh_postgres_database_in_production_mode():
    script = make_dry_run("serve")
    assert "scripts/postgres_url.py --fresh tracker_serve" in script
    for step in ("migrate", "collectstatic", "load_demo"):
        assert f"manage.py {step}" in script
    # gunicorn and the background workers, under honcho (deploy/Procfile.serve).
    assert "honcho start --no-colour -f deploy/Procfile.serve" in script
    assert "-c worker=$workers" in script
    procfile = (DEPLOY / "Procfile.serve").read_text()
    assert "web: .venv/bin/gunicorn -c deploy/gunicorn.conf.py" in procfile
    assert "worker: .venv/bin/python manage.py worker" in procfile
    for variable in ("DJANGO_DEBUG=0", "GUNICORN_WORKERS=4", "GUNICORN_BIND=127.0.0.1:8001"):
        assert variable in script
    assert "secrets.token_urlsafe" in script  # a throw-away key, never a fixed one


def test_make_loadtest_runs_the_load_script_against_its_own_server_with_a_time_bound():
    script = make_dry_run("loadtest")
    assert "gunicorn -c deploy/gunicorn.conf.py" in script
    assert "bench/loadtest.py --url http://127.0.0.1:8001" in script
    life = re.search(
        r"life=\$\(\( \(60 \+ (\d+)\) \* \(\$\(echo +\| wc -w\) \+ 1\) \+ (\d+) \)\)", script
    )
    assert life, "the processes' lives are bounded by the load's length"
    for started in ("gunicorn -c", "nginx -p", "manage.py worker >>"):
        assert re.search(r"timeout \$life [^;&]*" + re.escape(started), script), started
    assert "kill $server $proxy $worker" in script
    # Behind nginx with the deployment's site; the server's CPU read per page.
    assert (
        "scripts/loopback_nginx.py" in script
        and "TRACKER_X_ACCEL_REDIRECT_PREFIX=/protected" in script
    )
    assert "--server-pid $server --proxy-pid $proxy" in script


def test_the_load_test_s_nginx_is_the_deployment_s_site_on_loopback(tmp_path):
    from scripts.loopback_nginx import config

    made = config(tmp_path, 8001, 8002, tmp_path / "data", tmp_path / "static")
    assert "listen 127.0.0.1:8001;" in made and "server 127.0.0.1:8002" in made
    assert "ssl" not in made and "Strict-Transport-Security" not in made
    assert "/srv/tracker" not in made
    for location in ("/protected/originals/", "/protected/derivatives/", "/protected/exports/"):
        deployed, local = (
            nginx_block(location),
            re.search(r"location " + re.escape(location) + r" \{(.*?)\n    \}", made, re.S),
        )
        assert local, location
        kept = [line for line in deployed.splitlines() if "Strict-Transport" not in line]
        expected = "\n".join(kept).replace("/srv/tracker/data/", f"{tmp_path / 'data'}/")
        assert local.group(1) == expected, location


# --- the loopback run's settings -------------------------------------------------------

SHOW_COOKIES = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
)


def start(tmp_path, **variables: str) -> subprocess.CompletedProcess:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "TRACKER_", "DATABASE_", "DB_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tracker.project.settings",
        TRACKER_DATA_DIR=str(tmp_path),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="s" * 30 + "-0123456789-abcdefghijklmnop",
        **variables,
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", SHOW_COOKIES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_cookies_are_secure_by_default(tmp_path):
    result = start(tmp_path, DJANGO_ALLOWED_HOSTS="127.0.0.1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_insecure_cookies_are_allowed_on_loopback_only(tmp_path):
    loopback = start(
        tmp_path, DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", DJANGO_SECURE_COOKIES="0"
    )
    assert loopback.returncode == 0, loopback.stderr
    assert loopback.stdout.split() == ["False", "False"]
    public = start(
        tmp_path, DJANGO_ALLOWED_HOSTS="127.0.0.1,tracker.example.org", DJANGO_SECURE_COOKIES="0"
    )
    assert public.returncode != 0
    assert "DJANGO_SECURE_COOKIES=0 is only for a run on loopback" in public.stderr


# --- the load test script ---------------------------------------------------------------


def test_load_test_refuses_anything_but_loopback():
    from bench.loadtest import loopback_base

    assert loopback_base("http://127.0.0.1:8001/") == "http://127.0.0.1:8001"
    assert loopback_base("http://localhost:8001") == "http://localhost:8001"
    for url in ("http://example.org", "http://10.0.0.1:8001", "https://127.0.0.1:8001"):
        with pytest.raises(SystemExit, match="Refusing"):
            loopback_base(url)


def test_load_test_upload_body_is_a_form_django_reads():
    from bench.loadtest import multipart

    body, content_type = multipart({"kind": "photo", "title": "Ünïcode"}, "files", "a.jpg", b"xyz")
    request = RequestFactory().post("/", data=body, content_type=content_type)
    post, files = MultiPartParser(request.META, request, request.upload_handlers, "utf-8").parse()
    assert post.dict() == {"kind": "photo", "title": "Ünïcode"}
    assert files["files"].name == "a.jpg"
    assert files["files"].read() == b"xyz"
