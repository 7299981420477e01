"""Print the PostgreSQL URL the test suite should use, or nothing if none answers.

DATABASE_URL wins when it names PostgreSQL; otherwise the local default
postgres://root@127.0.0.1:5432/test is tried with a short timeout.
"""

import os
import sys

DEFAULT = "postgres://root@127.0.0.1:5432/test"


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = DEFAULT
    try:
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        print(f"PostgreSQL not reachable at {url}: {exc}", file=sys.stderr)
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
