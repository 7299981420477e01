"""What a bag carries to prove, offline, that its custody logs were not rewritten after
they were anchored (``evidence.files.anchoring``):

    items/<EV-code>/anchor.json         the item's inclusion proof ({"anchored": false} if none)
    anchors/<A-n>/anchor.json           the anchor: root, previous root, size, time
    anchors/<A-n>/root.txt              the root as 64 hex characters: what each TSA signed
    anchors/<A-n>/tsa-<k>.tsr           a TSA's timestamp response (DER), as received
    anchors/<A-n>/tsa-<k>-certs.pem     the certificates it carries
    anchors/<A-n>/tsa-<k>-ca.pem        the trusted root it verified under
    VERIFY.md                           how to check all of it with OpenSSL alone

``verify_bag`` (``evidence.files.bag_check``) checks the same without the tracker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evidence.files import anchoring
from evidence.models import Anchor, EvidenceItem

VERIFY = """# How to verify this bag

Everything here can be checked without the tracker and without its database.
`python manage.py verify_bag <this directory>` does every step below and prints
what each proves; these are the same steps with standard tools.

## 1. Fixity: the files are the ones exported

    bagit.py --validate .        # or: sha256sum -c manifest-sha256.txt

## 2. Each custody log is one unbroken chain

`data/items/<EV-code>/custody.json` lists the item's custody events. Each event's
`event_hash` is the SHA-256 of a canonical JSON of the event (its `hash_method` says
exactly which), and each event's `previous_hash` is the `event_hash` of the event before
it. An event whose `details_withheld` is true had protected details removed for this
export: its hash can be checked only by the holder of the full log, the link is still
checked.

## 3. The chain's head was anchored

`data/items/<EV-code>/anchor.json` names the anchored event (`sequence`, `head_hash`:
it must be that event's `event_hash` in custody.json), the leaf text
(`"<EV-code> <sequence> <head_hash>"`), its `index` among `size` leaves and the audit
`path`. The leaf's hash is SHA-256 of a zero byte and the text; each step up is
SHA-256 of a one byte, then the left and the right hash (RFC 9162, section 2.1.3.2,
which says from `index` and `size` on which side each path hash goes). This script does
it with OpenSSL (and `xxd`), given the leaf text, index, size and path of anchor.json:

    sha() { openssl dgst -sha256 -r | cut -c1-64; }
    node() { { printf '\\001'; printf '%s%s' "$1" "$2" | xxd -r -p; } | sha; }
    leaf_text="$1"; fn=$2; sn=$(($3 - 1)); shift 3
    h=$(printf '\\000%s' "$leaf_text" | sha)
    for p in "$@"; do
      if [ $((fn % 2)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
        h=$(node "$p" "$h")
        while [ "$fn" -ne 0 ] && [ $((fn % 2)) -eq 0 ]; do fn=$((fn / 2)); sn=$((sn / 2)); done
      else
        h=$(node "$h" "$p")
      fi
      fn=$((fn / 2)); sn=$((sn / 2))
    done
    echo "$h (sn=$sn: must be 0)"

Saved as `path.sh`: `sh path.sh "EV-000041 4 2b0e…" 41 158 <path hash 1> <path hash 2> …`.
The last hash must be the `root` in `data/anchors/<A-n>/anchor.json`, which is also
`root.txt`. Events after the anchored one were recorded after the anchor was made and
are covered by the chain only.

## 4. The root existed at the time a Time-Stamping Authority signed

For each `tsa-<k>.tsr` in `data/anchors/<A-n>/`:

    openssl ts -reply -in data/anchors/A-1/tsa-1.tsr -text          # who signed, and when
    openssl ts -verify -data data/anchors/A-1/root.txt -in data/anchors/A-1/tsa-1.tsr \\
      -CAfile data/anchors/A-1/tsa-1-ca.pem -untrusted data/anchors/A-1/tsa-1-certs.pem

`Verification: OK` means the TSA signed the SHA-256 of root.txt at the time it states.
Check `tsa-<k>-ca.pem` against the root certificate the TSA publishes: the tracker
trusted it; a court should not take the bag's word for it. If the TSA's certificate has
expired since, add `-attime <the token's time as seconds since 1970>`.

## What this proves, and what it does not

A timestamp proves that the root, hence every chain head under it, existed no later
than the time the TSA signed. A chain rebuilt after that time cannot lead to the same
root. It does not prove that events before the anchor are true, only that they were
not changed after it; events after the last anchor are proved by the chain alone.
"""


def write(root: Path, items: list[EvidenceItem], write_json) -> dict[str, Any]:
    """Write each item's proof, the anchors they name and VERIFY.md under ``root``.
    Returns a summary for export.json."""
    proofs = anchoring.proofs(items)
    used: set[str] = set()
    for item in items:
        found = proofs[item.pk]
        if found is not None:
            used.add(found["anchor"])
        write_json(
            root / "items" / item.code / "anchor.json",
            found or {"item": item.code, "anchored": False},
        )
    for made in Anchor.objects.filter(pk__in=[int(code[2:]) for code in used]).order_by("pk"):
        folder = root / "anchors" / made.code
        tokens = []
        for k, token in enumerate(anchoring.granted(made), start=1):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"tsa-{k}.tsr").write_bytes(bytes(token.response))
            (folder / f"tsa-{k}-certs.pem").write_text(token.certificates, encoding="ascii")
            (folder / f"tsa-{k}-ca.pem").write_text(token.root_certificate, encoding="ascii")
            tokens.append(
                {
                    "tsa": token.tsa_url,
                    "signed_by": token.tsa_name,
                    "time": token.gen_time.isoformat() if token.gen_time else None,
                    "serial": token.serial,
                    "response": f"tsa-{k}.tsr",
                    "certificates": f"tsa-{k}-certs.pem",
                    "ca": f"tsa-{k}-ca.pem",
                }
            )
        write_json(
            folder / "anchor.json",
            {
                "anchor": made.code,
                "made_at": made.made_at.isoformat(),
                "root": made.root,
                "previous_root": made.previous_root,
                "size": made.size,
                "timestamps": tokens,
                "method": anchoring.PROOF_METHOD,
            },
        )
        (folder / "root.txt").write_text(made.root, encoding="ascii")
    (root / "VERIFY.md").write_text(VERIFY, encoding="utf-8")
    anchored = sum(1 for found in proofs.values() if found is not None)
    return {"anchors": sorted(used), "items_anchored": anchored, "items": len(items)}
