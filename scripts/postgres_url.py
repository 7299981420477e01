"""Print the PostgreSQL URL the tests or benchmarks should use, or nothing if none answers.

DATABASE_URL wins when it names PostgreSQL; otherwise the local default
postgres://root@127.0.0.1:5432/test is tried with a short timeout.
With --fresh NAME, a database NAME is (re)created on that server and its URL
printed, so that benchmarks never write into the database a developer uses.
"""

import argparse
import os
import sys

DEFAULT = "postgres://root@127.0.0.1:5432/test"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh", metavar="NAME", help="drop and create this database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = DEFAULT
    dsn = url.replace("postgres://", "postgresql://", 1)
    try:
        import psycopg
        from psycopg import sql

        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            if args.fresh:
                name = sql.Identifier(args.fresh)
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        print(f"PostgreSQL not reachable at {url}: {exc}", file=sys.stderr)
        return 1
    if args.fresh:
        url = url.rsplit("/", 1)[0] + "/" + args.fresh
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
