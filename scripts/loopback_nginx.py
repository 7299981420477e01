"""An nginx configuration for the load test: the deployment's own site
(deploy/nginx/tracker.conf) on plain HTTP on loopback, in front of ``make serve``'s
gunicorn, so that the load test measures what ships: nginx sends thumbnails, previews
and originals (X-Accel-Redirect) and static files, Python does not.

    python scripts/loopback_nginx.py DIR --listen 8001 --app 8002 --data DATA_DIR

writes DIR/nginx.conf (a whole nginx configuration: run it with
``nginx -p DIR -c DIR/nginx.conf``). The ``location`` blocks are copied from the
deployment's site with its paths replaced; TLS, HSTS and the host name are left out
(loopback, plain HTTP).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "tracker.conf"
DEPLOYED_DATA = "/srv/tracker/data/"
DEPLOYED_STATIC = "/srv/tracker/static/"


def locations(site: str) -> list[str]:
    """The ``location`` blocks of the HTTPS server (our blocks do not nest)."""
    found = re.findall(r"^    location [^\n]*\{\n.*?^    \}\n", site, re.S | re.M)
    if not found:
        raise SystemExit(f"{SITE} has no location blocks")
    return found


def adapted(block: str, data: Path, static: Path) -> str:
    block = block.replace(DEPLOYED_DATA, f"{data}/").replace(DEPLOYED_STATIC, f"{static}/")
    kept = [line for line in block.splitlines() if "Strict-Transport-Security" not in line]
    return "\n".join(kept) + "\n"


def config(directory: Path, listen: int, app: int, data: Path, static: Path) -> str:
    blocks = "".join(adapted(b, data, static) for b in locations(SITE.read_text()))
    temp = directory / "temp"
    # Run by root (a test machine), nginx's workers would run as nobody and could not read
    # the data dir (0750): they run as its owner. A deployment runs them as www-data.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""# Written by scripts/loopback_nginx.py from deploy/nginx/tracker.conf: do not edit.
{user}daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; text/css css; application/javascript js; image/png png;
            image/svg+xml svg; font/woff2 woff2; application/json json; }}
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    upstream tracker_app {{
        server 127.0.0.1:{app} fail_timeout=0;
    }}
    server {{
        listen 127.0.0.1:{listen};
        server_tokens off;
        client_max_body_size 4097m;
{blocks}    }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--listen", type=int, required=True, help="nginx's port on loopback")
    parser.add_argument("--app", type=int, required=True, help="gunicorn's port on loopback")
    parser.add_argument("--data", type=Path, required=True, help="TRACKER_DATA_DIR")
    parser.add_argument("--static", type=Path, help="TRACKER_STATIC_ROOT (DATA/static)")
    args = parser.parse_args()
    directory = args.directory.resolve()
    (directory / "temp").mkdir(parents=True, exist_ok=True)
    data = args.data.resolve()
    static = (args.static or data / "static").resolve()
    (directory / "nginx.conf").write_text(
        config(directory, args.listen, args.app, data, static), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
