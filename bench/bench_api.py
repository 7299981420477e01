"""The API's incident list at scale (issue 21), through the real views, each figure
against a baseline in the same run:

- page 1 of ``/api/incidents/?page_size=50`` against the workspace's incident browser
  page 1 (the same 50 rows; target <= 1x);
- a deep page (row 99,901 on at full scale: page 1,000 of 100) by its cursor, against
  page 1 (target: about the same) and against DRF's own ``PageNumberPagination`` at
  the same depth (OFFSET; target: ours >= 5x faster).

- an upload of 256 MiB through the API, streamed (``/api/evidence/stream/``) and as a
  form, against ``intake.ingest`` of the same size (what the ``ingest`` command calls;
  target >= 0.8x), and the server's peak memory (target < +40 MB). Each runs in a child
  process of its own: a real HTTP server on loopback (wsgiref, one thread) and a client
  that sends the file from disk, so the peak is the server's and the file's, not held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import Figure, Report, time_it

DATABASE_BOUND = True
UPLOAD_MIB = 256
CHUNK = 1024 * 1024
BOUNDARY = "bench-boundary-7d1f"


def run(report: Report, *, scale: str) -> None:
    from django.contrib.auth.models import User
    from django.core import signing
    from django.test import Client
    from rest_framework.pagination import PageNumberPagination

    from bench.bench_admin import SIZES
    from bench.harness import superuser_client
    from tracker.api import incidents
    from tracker.api.pagination import SALT
    from tracker.models import ApiToken, Incident

    browser = superuser_client(scale, SIZES)  # the generated case, and its superuser
    admin = User.objects.get(username="bench-admin")
    key = ApiToken.issue(admin, name="bench", scopes=["read"])[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(client, url: str) -> bytes:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response.content

    first = time_it(lambda: get(api, "/api/incidents/?page_size=50"), runs=5)
    workspace = time_it(lambda: get(browser, "/incidents/"), runs=5)
    report.add(
        Figure(
            "API incidents: page 1 of 50",
            first.median * 1000,
            "ms",
            baseline=workspace.median * 1000,
            baseline_name="ms workspace page 1",
            target="ratio <= 1",
            timing=first,
        )
    )

    size = 100
    total = Incident.objects.count()
    page = max(2, min(1000, total // size))
    order = incidents.API_SORTS["-date"]
    last = Incident.objects.order_by(*order).only("occurred_start")[(page - 1) * size - 1]
    values = [last.occurred_start.isoformat(), last.id]
    cursor = signing.dumps({"order": list(order), "values": values}, salt=SALT)
    top = time_it(lambda: get(api, f"/api/incidents/?page_size={size}"), runs=5)
    deep = time_it(lambda: get(api, f"/api/incidents/?page_size={size}&cursor={cursor}"), runs=5)
    report.add(
        Figure(
            f"API incidents: page {page} of {size} (keyset)",
            deep.median * 1000,
            "ms",
            baseline=top.median * 1000,
            baseline_name=f"ms page 1 of {size}",
            target="ratio about 1",
            timing=deep,
        )
    )

    class Numbered(PageNumberPagination):
        page_size_query_param = "page_size"
        max_page_size = 500

    original = incidents.IncidentViews.pagination_class
    incidents.IncidentViews.pagination_class = Numbered
    try:
        offset = time_it(lambda: get(api, f"/api/incidents/?page_size={size}&page={page}"), runs=3)
    finally:
        incidents.IncidentViews.pagination_class = original
    report.add(
        Figure(
            f"API incidents: page {page} of {size}, DRF PageNumberPagination",
            offset.median * 1000,
            "ms",
            baseline=deep.median * 1000,
            baseline_name="ms ours (keyset)",
            target="ratio >= 5",
            timing=offset,
        )
    )

    upload_figures(report, key=ApiToken.issue(admin, name="bench-upload", scopes=["write"])[1])


def upload_figures(report: Report, *, key: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-api-upload-"))
    runs = {}
    for n, how in enumerate(("ingest", "streamed", "form")):
        path = work / f"big-{how}.pdf"
        with path.open("wb") as out:  # distinct bytes each: every run stores a new original
            out.write(b"%PDF-1.7\n%" + n.to_bytes(8, "little") + b"\n")
            block = os.urandom(CHUNK)
            for _ in range(UPLOAD_MIB):
                out.write(block)
        answer = subprocess.run(
            [sys.executable, "-m", "bench.bench_api", how, str(path), key],
            capture_output=True,
            text=True,
            env=os.environ,
        )
        if answer.returncode:
            raise RuntimeError(f"the {how} upload failed: {answer.stderr[-2000:]}")
        runs[how] = json.loads(answer.stdout.strip().splitlines()[-1])
        path.unlink()
    ingest = UPLOAD_MIB / runs["ingest"]["seconds"]
    for how, label in (("streamed", "streamed"), ("form", "as a form (multipart)")):
        report.add(
            Figure(
                f"API upload of {UPLOAD_MIB} MiB, {label}",
                UPLOAD_MIB / runs[how]["seconds"],
                "MiB/s",
                baseline=ingest,
                baseline_name="MiB/s intake.ingest (the ingest command)",
                target="ratio >= 0.8" if how == "streamed" else "",
            )
        )
        report.add(
            Figure(
                f"API upload of {UPLOAD_MIB} MiB, {label}: server peak memory",
                runs[how]["peak_mb"],
                "MB",
                baseline=runs["ingest"]["peak_mb"],
                baseline_name="MB intake.ingest",
                target="< +40 MB" if how == "streamed" else "",
            )
        )


def _peak_kb() -> int:
    """The kernel's high-water mark of this process's resident memory (VmHWM)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def _body(path: Path):
    """A form with one file, sent from disk a chunk at a time."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{path.name}"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    tail = f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n'
    tail += f"document\r\n--{BOUNDARY}--\r\n"
    size = len(head) + path.stat().st_size + len(tail.encode())

    def chunks():
        yield head
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
        yield tail.encode()

    return chunks(), size


def _child(how: str, path: Path, key: str) -> dict:
    """One upload in this process (a child of the benchmark): its time and the peak
    memory it added."""
    import http.client
    import threading
    import time
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.wsgi import get_wsgi_application

    from evidence import intake

    if how == "ingest":
        user = User.objects.get(username="bench-admin")
        before = _peak_kb()
        start = time.perf_counter()
        with path.open("rb") as f:
            intake.ingest(f, filename=path.name, kind="document", by=user)
        return {"seconds": time.perf_counter() - start, "peak_mb": (_peak_kb() - before) / 1024}

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    auth = {"Authorization": f"Bearer {key}"}

    def call(method, url, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, blocksize=CHUNK)
        conn.request(method, url, body=body, headers={**auth, **(headers or {})})
        answer = conn.getresponse()
        content = answer.read()
        conn.close()
        return answer.status, content

    call("POST", "/api/evidence/stream/?filename=warm.txt", b"warm", {"Content-Type": "text/plain"})
    before = _peak_kb()
    start = time.perf_counter()
    if how == "streamed":
        with path.open("rb") as f:
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Length": str(path.stat().st_size),
            }
            status, content = call(
                "POST", f"/api/evidence/stream/?filename={path.name}&kind=document", f, headers
            )
    else:
        body, size = _body(path)
        headers = {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(size),
        }
        status, content = call("POST", "/api/evidence/", body, headers)
    seconds = time.perf_counter() - start
    assert status == 201, (status, content[:300])
    server.shutdown()
    return {"seconds": seconds, "peak_mb": (_peak_kb() - before) / 1024}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], Path(sys.argv[2]), sys.argv[3])))
