"""Upload every file of a folder to the tracker and link each to an incident.

    TRACKER_URL=https://tracker.example.org TRACKER_TOKEN=trk_… \\
        python upload_folder.py INC-0042 ./field-laptop/2019-05-26/

Needs a token with the "write" scope (Admin > API tokens). Each file is hashed by the
tracker on arrival: a file already held is linked, not stored twice; a refused file is
reported with the tracker's reason and the others go on.
"""

import os
import sys
from pathlib import Path

import requests


def main() -> int:
    incident, folder = sys.argv[1], Path(sys.argv[2])
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + os.environ["TRACKER_TOKEN"]
    url = os.environ.get("TRACKER_URL", "http://127.0.0.1:8000").rstrip("/") + "/api/evidence/"
    failed = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with path.open("rb") as stream:
            answer = session.post(
                url,
                files={"file": (path.name, stream)},
                data={"incident": incident, "received_from": "field laptop upload"},
                timeout=600,
            )
        if answer.status_code in (200, 201):
            word = "already held as" if answer.json()["duplicate"] else "stored as"
            print(f"{path}: {word} {answer.json()['code']}")
        elif answer.status_code == 202:
            print(f"{path}: {answer.json()['detail']}")
        else:
            failed += 1
            problem = answer.json()
            reasons = problem.get("errors") or problem.get("detail")
            print(f"{path}: refused ({answer.status_code}): {reasons}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
