"""Pull every verified incident into a CSV that pandas reads as it is.

    TRACKER_URL=https://tracker.example.org TRACKER_TOKEN=trk_… \\
        python verified_csv.py verified.csv

    import pandas as pd
    frame = pd.read_csv("verified.csv", parse_dates=["occurred_start"])

Needs a token with the "read" scope. Follows the keyset pages ("next") to the end.
"""

import csv
import os
import sys

import requests

COLUMNS = [
    "code",
    "title",
    "status",
    "occurred_start",
    "start_precision",
    "place",
    "governorate",
    "latitude",
    "longitude",
    "killed_min",
    "killed_max",
    "injured_min",
    "injured_max",
    "civilian_harm",
    "url",
]


def rows(session: requests.Session, url: str):
    while url:
        answer = session.get(url, timeout=60)
        answer.raise_for_status()
        page = answer.json()
        for incident in page["results"]:
            place = incident["place"] or {}
            yield {
                **{name: incident.get(name) for name in COLUMNS},
                "place": place.get("name"),
                "governorate": place.get("governorate"),
            }
        url = page["next"]


def main() -> int:
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + os.environ["TRACKER_TOKEN"]
    base = os.environ.get("TRACKER_URL", "http://127.0.0.1:8000").rstrip("/")
    first = f"{base}/api/incidents/?status=verified&sort=date&page_size=500"
    with open(sys.argv[1], "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        count = 0
        for row in rows(session, first):
            writer.writerow(row)
            count += 1
    print(f"{count} verified incidents written to {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
