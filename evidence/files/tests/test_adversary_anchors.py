"""Adversarial probes of trusted time (forged bags, tampered anchor rows, racing runs, the
proof download, hostile TSAs), each asserting the safe behaviour: PROBLEM lines, never a
traceback or a plain OK; nothing hidden named; no TSA holding a run past its timeout."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from evidence.files import anchoring, bag_check, custody, merkle, timestamping
from evidence.files.tests.bag_helpers import export, load
from evidence.files.tests.test_anchoring import proves, verify
from evidence.files.tests.test_bag_anchors import edit_json, resealed, verify_bag
from evidence.files.tests.test_custody import ingest_text, raw, triggers_dropped
from evidence.models import Anchor, AnchorLeaf, CustodyEvent
from evidence.tests.test_restricted_items import as_user, ingest, named
from evidence.tests.tsa import LocalTSA, _children, trusting
from tracker.models import Sensitivity
from tracker.tests import factories as f

pytestmark = pytest.mark.django_db


def roots_of(ca) -> list:
    return timestamping.load_pem(ca.root_pem)


@pytest.fixture
def bag(case, authority, tmp_path) -> Path:
    with LocalTSA(authority) as tsa, trusting(tsa.url, ca=authority.root_pem_path):
        anchoring.anchor()
        assert anchoring.timestamp() == []
    out = tmp_path / "bag"
    export("--incident", case["incident"].code, "--user", "researcher", str(out))
    return out


def first(bag: Path) -> str:
    return load(bag / "data" / "export.json")["anchoring"]["anchors"][0]


def rebuild(bag: Path, code: str) -> None:
    """Rewrite event 1 of the item's log and recompute every hash after it."""

    def change(data):
        previous = ""
        for event in data["events"]:
            if event["sequence"] == 1:
                event["details"] = {**event["details"], "received_from": "someone else"}
            event["previous_hash"] = previous
            payload = bag_check.event_payload(code, event)
            event["event_hash"] = previous = custody.payload_digest(payload)

    edit_json(bag / "data" / "items" / code / "custody.json", change)


def forge_tree(bag: Path, codes: list[str], anchor: str) -> str:
    """A new tree over the items' current heads, their proofs pointed at ``anchors/<anchor>``
    (made or overwritten, with no timestamp); returns its root."""
    data = bag / "data"
    heads = []
    for code in codes:
        last = load(data / "items" / code / "custody.json")["events"][-1]
        heads.append((code, last["sequence"], last["event_hash"]))
    leaves = [merkle.leaf_hash(merkle.previous_text(""))]
    leaves += [merkle.leaf_hash(merkle.head_text(*head)) for head in heads]
    root = merkle.root_of(leaves).hex()
    for index, (code, sequence, head) in enumerate(heads, start=1):
        proof = {
            "item": code, "anchor": anchor, "sequence": sequence, "head_hash": head,
            "leaf": merkle.head_text(code, sequence, head), "index": index,
            "size": len(leaves), "root": root, "previous_root": "", "timestamps": [],
            "path": [h.hex() for h in merkle.inclusion_path(leaves, index)],
        }  # fmt: skip
        (data / "items" / code / "anchor.json").write_text(json.dumps(proof))
    folder = data / "anchors" / anchor
    folder.mkdir(parents=True, exist_ok=True)
    made = {"anchor": anchor, "root": root, "previous_root": "", "size": len(leaves)}
    (folder / "anchor.json").write_text(json.dumps({**made, "timestamps": []}))
    (folder / "root.txt").write_text(root)
    return root


# --- verify_bag: forgeries with the manifests remade -----------------------------------------


def test_a_proof_pointing_to_an_anchor_folder_not_listed_is_not_trusted(bag, case):
    """Found in review, fixed: export.json lists A-1 only; a rebuilt chain proved under a
    made-up A-999 whose
    timestamps are never looked at still ends in "OK"."""
    code = case["wide"].code
    rebuild(bag, code)
    forge_tree(bag, [code], "A-999")
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is not None, text


def test_a_swapped_original_is_caught(bag, case):
    """Found in review, fixed: the original's bytes were not compared with the hash the
    anchored chain
    recorded (its received event's observed_sha256, metadata's sha256)."""
    code = case["wide"].code
    (original,) = (bag / "data" / "originals" / code).iterdir()
    original.write_bytes(b"another photograph altogether")
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is not None and code in text, text


def test_an_item_folder_left_out_of_export_json_is_not_passed_silently(bag, case):
    """Found in review, fixed: only export.json's items were checked; a rewritten log in
    items/ was not."""
    code = case["wide"].code
    rebuild(bag, code)
    edit_json(
        bag / "data" / "export.json",
        lambda d: d.update(items=[i for i in d["items"] if i["code"] != code]),
    )
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is not None, text


def test_a_proof_replaced_by_anchored_false_contradicts_export_json(bag, case):
    """Found in review, fixed: the proof of an anchored item swapped for {"anchored": false}
    while export.json still counts it among items_anchored: the rewrite passes."""
    code = case["crater"].code
    rebuild(bag, code)
    (bag / "data" / "items" / code / "anchor.json").write_text(
        json.dumps({"item": code, "anchored": False})
    )
    resealed(bag)
    assert load(bag / "data" / "export.json")["anchoring"]["items_anchored"] == 3
    text, error = verify_bag(bag)
    assert error is not None, text


def test_an_anchor_without_timestamps_is_said_so(bag, case):
    """Passes: a new tree with no token is accepted, and said not timestamped (honest)."""
    codes = [case[name].code for name in ("crater", "wide", "interview")]
    rebuild(bag, codes[1])
    forge_tree(bag, codes, first(bag))
    resealed(bag)
    text, _ = verify_bag(bag)
    assert f"{first(bag)}: root " in text and "was not timestamped" in text


def test_a_forged_tree_signed_by_the_attackers_own_tsa_names_its_ca(bag, case, stranger, authority):
    """Found in review, fixed: a rewritten chain, a new tree, a token of the attacker's own
    CA in the bag passed as a genuine bag did. The bag alone cannot tell: the output names
    the CA by its fingerprint and says to compare it, and --tsa-ca (the TSA's own root)
    refuses the forgery."""
    codes = [case[name].code for name in ("crater", "wide", "interview")]
    rebuild(bag, codes[1])
    anchor = first(bag)
    root = forge_tree(bag, codes, anchor)
    with LocalTSA(stranger) as tsa:
        token = timestamping.ask(tsa.url, root.encode(), roots_of(stranger), timeout=10)
    folder = bag / "data" / "anchors" / anchor
    (folder / "tsa-1.tsr").write_bytes(token.response)
    (folder / "tsa-1-certs.pem").write_text(token.certificates)
    (folder / "tsa-1-ca.pem").write_text(token.root_certificate)
    stamp = {"response": "tsa-1.tsr", "certificates": "tsa-1-certs.pem", "ca": "tsa-1-ca.pem"}
    edit_json(folder / "anchor.json", lambda d: d.update(timestamps=[stamp]))
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is None and f"{anchor} tsa-1.tsr: CN=Test TSA signed" in text
    fingerprint = hashlib.sha256(roots_of(stranger)[0].public_bytes(Encoding.DER)).hexdigest()
    assert fingerprint in text.replace(":", "").lower(), text
    assert "compare their fingerprints above with the roots the TSAs publish" in text
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_bag", str(bag), "--tsa-ca", str(authority.root_pem_path), stdout=out)
    assert f"PROBLEM {anchor} tsa-1.tsr: The timestamp does not verify" in out.getvalue()


FILES = {
    "export": "export.json",
    "proof": "items/{crater}/anchor.json",
    "log": "items/{crater}/custody.json",
    "anchor": "anchors/{anchor}/anchor.json",
}
HOSTILE = {  # name: (file, new bytes or what to change in its JSON)
    "deeply nested export.json": ("export", b"[" * 200_000),
    "anchoring is a list": ("export", {"anchoring": []}),
    "a proof that is a list": ("proof", b"[]"),
    "a root that is a number": ("anchor", {"root": 7}),
    "custody not UTF-8": ("log", b'{"events": "\xff\xfe"}'),
    "sequence as a string": ("proof", {"sequence": "1"}),
    "a negative index": ("proof", {"index": -1}),
    "a huge size": ("proof", {"size": 10**400}),
    "an index that is a float": ("proof", {"index": 0.5}),
    "a path that is not hex": ("proof", {"path": ["zz"]}),
    "a short path entry": ("proof", {"path": ["00"]}),
    "no events": ("log", {"events": []}),
    "a null event": ("log", {"events": [None]}),
    "a traversing anchor": ("proof", {"anchor": "../../.."}),
    "a traversing CA file": ("anchor", {"timestamps": [{"response": "tsa-1.tsr", "ca": "../x"}]}),
    "timestamps as a dict": ("anchor", {"timestamps": {"x": 1}}),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_records_are_problems_not_tracebacks(bag, case, name):
    """Found in review, fixed for some: RecursionError and AttributeError escaped
    verify_bag as tracebacks."""
    where, change = HOSTILE[name]
    path = bag / "data" / FILES[where].format(crater=case["crater"].code, anchor=first(bag))
    if isinstance(change, bytes):
        path.write_bytes(change)
    else:
        edit_json(path, lambda data: data.update(change))
    resealed(bag)
    text, error = verify_bag(bag)
    assert error is not None and "PROBLEM" in text and "OK: every check" not in text


def test_a_bag_info_that_is_not_utf8_is_a_problem_not_a_traceback(bag):
    """Found in review, fixed: bagit raises UnicodeDecodeError, which check() does not catch."""
    with open(bag / "bag-info.txt", "ab") as info:
        info.write(b"X-Note: \xff\xfe\n")
    text, error = verify_bag(bag)
    assert error is not None and text.startswith("PROBLEM bag: ")


# --- The database side --------------------------------------------------------------------


def test_a_token_swapped_for_another_cas_in_the_database_is_reported(
    researcher, authority, stranger
):
    """Found in review, fixed: anchor_problems checked each token under the root
    certificate stored beside it,
    not under TRACKER_TSA_CA_FILE: whoever rewrites the rows brings their own CA."""
    ingest_text(researcher)
    with LocalTSA(authority) as tsa, trusting(tsa.url, ca=authority.root_pem_path):
        made = anchoring.anchor()
        assert anchoring.timestamp() == []
        with LocalTSA(stranger) as other:
            forged = timestamping.ask(other.url, made.root.encode(), roots_of(stranger), timeout=10)
        raw(
            "UPDATE evidence_anchortoken SET response = %s, certificates = %s, "
            "root_certificate = %s WHERE anchor_id = %s",
            [forged.response, forged.certificates, forged.root_certificate, made.pk],
        )
        out, error = verify()
    assert error is not None and f"ANCHOR-TOKEN {made.code}" in out, out


def test_verify_evidence_of_one_code_sees_its_leaves_removed(researcher):
    """Found in review, fixed: with codes, only anchors that still held a leaf of the
    items were checked."""
    item = ingest_text(researcher, 1)
    ingest_text(researcher, 2)
    made = anchoring.anchor()
    raw("DELETE FROM evidence_anchorleaf WHERE item_id = %s", [item.pk])
    out, error = verify(item.code)
    assert error is not None and f"ANCHOR-ROOT {made.code}" in out, out


def test_an_event_appended_while_anchoring_waits_for_the_next_anchor(researcher, monkeypatch):
    """Passes: heads read batch by batch stay consistent with the leaves written."""
    monkeypatch.setattr(anchoring, "BATCH", 1)
    items = [ingest_text(researcher, n) for n in range(1, 4)]
    write = anchoring._Leaves._write

    def racing(batch):
        write(batch)
        if batch and batch[0].item_id == items[0].pk:
            for item in (items[0], items[2]):  # one already read, one not yet
                custody.record(item, CustodyEvent.Action.VIEWED, actor=researcher)

    monkeypatch.setattr(anchoring._Leaves, "_write", staticmethod(racing))
    made = anchoring.anchor()
    monkeypatch.setattr(anchoring._Leaves, "_write", staticmethod(write))
    assert anchoring.mismatches(i.pk for i in items) == []
    assert made.leaves.get(item=items[2]).sequence == 3
    second = anchoring.anchor()
    assert list(second.leaves.values_list("item_id", flat=True)) == [items[0].pk]
    assert anchoring.anchor_problems(Anchor.objects.all()) == []
    assert all(proves(p) for p in anchoring.proofs(items).values())


@pytest.mark.django_db(transaction=True)
def test_two_anchor_runs_at_once_neither_fails_nor_forks(monkeypatch):
    user = User.objects.create_user("racer")
    for n in range(3):
        ingest_text(user, n)
    gate = threading.Barrier(2, timeout=3)
    previous = merkle.previous_text

    def meet(root):
        with contextlib.suppress(threading.BrokenBarrierError):
            gate.wait()
        return previous(root)

    monkeypatch.setattr(merkle, "previous_text", meet)
    errors: list[BaseException] = []

    def run():
        try:
            anchoring.anchor()
        except Exception as exc:  # noqa: BLE001 - what the test reports
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert anchoring.anchor_problems(Anchor.objects.all()) == []
    assert AnchorLeaf.objects.filter(latest=True).count() == 3


def test_proofs_of_many_items_are_not_quadratic(researcher, monkeypatch):
    """Found in review, fixed (cost): each path recomputed every subtree: m items of an
    anchor of n leaves hashed ~m*n nodes (10^4 items of a 10^6-leaf anchor: 10^10);
    levels built once: ~2n."""
    items = [f.EvidenceItemFactory() for _ in range(64)]
    for item in items:
        custody.record(item, CustodyEvent.Action.VIEWED, actor=researcher)
    made = anchoring.anchor()
    calls = []
    node = merkle.node_hash
    monkeypatch.setattr(merkle, "node_hash", lambda a, b: calls.append(1) or node(a, b))
    found = anchoring.proofs(items)
    assert all(proves(p) for p in found.values())
    assert len(calls) <= 2 * made.size + len(items) * made.size.bit_length(), len(calls)


def test_the_item_page_survives_a_chain_deleted_after_anchoring(client, researcher):
    item = ingest(researcher, f.IncidentFactory())
    anchoring.anchor()
    with triggers_dropped():
        raw("DELETE FROM evidence_custodyevent WHERE item_id = %s", [item.pk])
    url = reverse("admin:evidence_evidenceitem_change", args=[item.pk])
    assert as_user(client, researcher).get(url).status_code == 200


# --- The proof download -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["..%2F..%2Fetc%2Fpasswd", "EV-" + "9" * 5000, "EV-٠٠٠١", "%00", "EV-1%0A", "%C0%AE"]
)
def test_hostile_codes_are_not_found(client, researcher, code):
    ingest(researcher, f.IncidentFactory())
    anchoring.anchor()
    response = as_user(client, researcher).get(f"/evidence/{code}/anchor-proof")
    assert response.status_code in (400, 404)


def test_inactive_users_get_nothing_and_head_sends_no_body(client, researcher):
    item = ingest(researcher, f.IncidentFactory())
    anchoring.anchor()
    url = reverse("evidence:anchor_proof", args=[item.code])
    head = as_user(client, researcher).head(url)
    assert head.status_code == 200 and head.content == b""
    User.objects.filter(pk=researcher.pk).update(is_active=False)
    assert client.get(url).status_code in (302, 403)


def test_a_proof_names_no_hidden_item(client, researcher, other_researcher):
    """Passes: the tree holds the hidden item's leaf, the proof only hashes of it (its
    `size` and `index` still tell how many heads changed in that hour)."""
    named(other_researcher)
    restricted = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, created_by=other_researcher)
    hidden = ingest(other_researcher, restricted)
    shown = ingest(researcher, f.IncidentFactory(), colour=(10, 20, 30))
    anchoring.anchor()
    as_user(client, researcher)
    body = client.get(reverse("evidence:anchor_proof", args=[shown.code])).content.decode()
    head = hidden.custody_events.order_by("-sequence").first()
    assert hidden.code not in body and head.event_hash not in body and hidden.sha256 not in body
    assert client.get(reverse("evidence:anchor_proof", args=[hidden.code])).status_code == 404
    page = client.get(reverse("admin:evidence_evidenceitem_change", args=[hidden.pk]))
    assert page.status_code in (302, 404)


# --- The TSA client -----------------------------------------------------------------------

MESSAGE = b"ab" * 32


def query(*, nonce: bool = True):
    builder = TimestampRequestBuilder().data(MESSAGE).hash_algorithm(HashAlgorithm.SHA256)
    return builder.nonce(nonce=nonce).cert_request(cert_request=True).build()


def test_a_replayed_or_nonceless_answer_is_refused(authority, monkeypatch):
    tsa = LocalTSA(authority)  # reply() needs no server
    earlier = tsa.reply(query().as_bytes())
    monkeypatch.setattr(timestamping, "_post", lambda *args: earlier)
    with pytest.raises(timestamping.TimestampError, match="Nonce"):
        timestamping.ask("http://tsa.invalid/", MESSAGE, roots_of(authority), timeout=5)
    no_nonce = tsa.reply(query(nonce=False).as_bytes())
    with pytest.raises(timestamping.TimestampError):
        timestamping.check(no_nonce, MESSAGE, roots_of(authority), nonce=12345)


def test_altered_answers_give_only_timestamp_errors(authority):
    """Passes: a trailing byte, any truncation or other status is refused; byte flips give
    a TimestampError or still verify (a few outside the signed content do: the token is
    malleable, its meaning is not), never another exception. Status 1 (granted with
    modifications) is refused by rfc3161-client, though check() means to allow it."""
    request = query()
    good = LocalTSA(authority).reply(request.as_bytes())
    roots = roots_of(authority)
    assert timestamping.check(good, MESSAGE, roots, nonce=request.nonce)
    (_, start, _, _), *_ = _children(good)
    (_, _, status, _), *_ = _children(good, start)
    refused = [good + b"\x00", *(good[:n] for n in range(len(good)))]
    refused += [good[:status] + bytes([s]) + good[status + 1 :] for s in (1, 2, 5)]
    for variant in refused:
        with pytest.raises(timestamping.TimestampError):
            timestamping.check(variant, MESSAGE, roots, nonce=request.nonce)
    for i in random.Random(3161).sample(range(len(good)), 300):
        with contextlib.suppress(timestamping.TimestampError):
            flipped = good[:i] + bytes([good[i] ^ 0x5A]) + good[i + 1 :]
            assert timestamping.check(flipped, MESSAGE, roots, nonce=request.nonce).serial


class _Liar(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = self.server.answer  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", "5000" if answer == "short" else "40")
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(10 if answer == "short" else 40):
                self.wfile.write(b"0")
                self.wfile.flush()
                time.sleep(0.15 if answer == "drip" else 0)


@pytest.mark.parametrize("answer", ["short", "drip"])
def test_a_lying_or_dripping_tsa_fails_within_its_timeout(authority, answer):
    """ "short": Content-Length 5000, 10 bytes sent: refused (passes). fixed, "drip": the
    deadline is looked at only when iter_content(8192) hands over a chunk (8 KiB or the
    end): 40 bytes, one per 0.15 s, take 6 s against a 1 s timeout; a byte per
    (timeout - e) s would hold the worker about 8192 x timeout."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Liar)
    server.daemon_threads, server.answer = True, answer  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(timestamping.TimestampError):
            url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
            timestamping.ask(url, MESSAGE, roots_of(authority), timeout=1)
    finally:
        server.shutdown()
        server.server_close()
    assert time.monotonic() - started < 3
