"""Run the benchmarks: `make bench` (quick scale) or `make bench SCALE=full`.

Builds a throw-away data directory and database (SQLite, or PostgreSQL when
DATABASE_URL names one), runs every benchmark module and prints each figure with
its baseline, then a summary table.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["quick", "full"], default="quick")
    parser.add_argument("--only", action="append", help="run only these modules (e.g. intake)")
    parser.add_argument(
        "--database-only",
        action="store_true",
        help="skip benchmarks whose figures do not depend on the database",
    )
    args = parser.parse_args()

    os.environ.setdefault("TRACKER_DATA_DIR", tempfile.mkdtemp(prefix="tracker-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.project.settings")
    # The generated case's derivatives are made as it is ingested; bench_jobs chooses
    # the queue for its own figures.
    os.environ.setdefault("TRACKER_TASKS_BACKEND", "immediate")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import (
        bench_admin,
        bench_anchors,
        bench_api,
        bench_capture,
        bench_corroboration,
        bench_flights,
        bench_floors,
        bench_incident_page,
        bench_intake,
        bench_jobs,
        bench_responsibility,
        bench_search,
        bench_video,
        bench_workspace,
    )
    from bench.harness import Report

    call_command("migrate", verbosity=0)
    print(
        f"database: {connection.vendor}; data: {os.environ['TRACKER_DATA_DIR']}; "
        f"scale: {args.scale}; cpus: {os.cpu_count()}"
    )
    report = Report()
    # The generated case is shared: the modules that read it come before those that add
    # to it (flights imports observations, responsibility adds 100,000 incidents).
    modules = {
        "intake": bench_intake,
        "jobs": bench_jobs,
        "admin": bench_admin,
        "incident_page": bench_incident_page,
        "floors": bench_floors,
        "search": bench_search,
        "workspace": bench_workspace,
        "api": bench_api,
        "flights": bench_flights,
        "responsibility": bench_responsibility,
        "video": bench_video,  # adds 20,000 or 100,000 videos: after those that count items
        "capture": bench_capture,
        "anchors": bench_anchors,
        "corroboration": bench_corroboration,
    }
    for name, module in modules.items():
        if args.only and name not in args.only:
            continue
        if args.database_only and not getattr(module, "DATABASE_BOUND", True):
            continue
        print(f"\n== {name} ==", flush=True)
        options = {}
        if args.database_only and "database_only" in inspect.signature(module.run).parameters:
            options["database_only"] = True  # it runs its database-bound figures alone
        module.run(report, scale=args.scale, **options)
    report.summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
