"""verify_bag's rules one by one (``evidence.files.bag_check``), on bags built here the way
export_bag writes them (no database: the checks read the bag alone). Each test names the
promise a mutant of the check broke (``make mutate``)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import bagit
import pytest

from evidence.files import bag_check, custody, merkle, timestamping
from evidence.tests.tsa import LocalTSA, make_authority

OK = "OK"


@pytest.fixture(scope="module")
def built(tmp_path_factory, authority) -> Path:
    """Two items, each with an original and a chain of three events, one anchor over
    both heads timestamped twice by the local TSA; the bag sealed."""
    root = tmp_path_factory.mktemp("bags") / "bag"
    data = root / "data"
    heads, items = [], []
    for n in (1, 2):
        code, content = f"EV-00000{n}", f"original {n}\n".encode()
        sha = hashlib.sha256(content).hexdigest()
        original = f"data/originals/{code}/{sha}.txt"
        write(root / original, content)
        events, previous = [], ""
        for sequence, action in enumerate(("acquired", "received", "viewed"), start=1):
            event = {
                "sequence": sequence, "action": action, "actor": None, "actor_id": None,
                "at": "2026-01-01T00:00:00+00:00", "details": {},
                "observed_sha256": sha if action == "received" else "", "previous_hash": previous,
            }  # fmt: skip
            event["event_hash"] = previous = custody.payload_digest(
                bag_check.event_payload(code, event)
            )
            events.append(event)
        write_json(data / "items" / code / "custody.json", {"item": code, "events": events})
        heads.append((code, 3, previous))
        items.append({"code": code, "original": original})
    leaves = [merkle.leaf_hash(merkle.previous_text(""))]
    leaves += [merkle.leaf_hash(merkle.head_text(*head)) for head in heads]
    root_hex = merkle.root_of(leaves).hex()
    for index, (code, sequence, head) in enumerate(heads, start=1):
        write_json(
            data / "items" / code / "anchor.json",
            {
                "item": code, "anchor": "A-1", "sequence": sequence, "head_hash": head,
                "index": index, "size": len(leaves), "root": root_hex,
                "path": [h.hex() for h in merkle.inclusion_path(leaves, index)],
            },
        )  # fmt: skip
    folder = data / "anchors" / "A-1"
    stamps = []
    with LocalTSA(authority) as tsa:
        for k in (1, 2):
            token = timestamping.ask(
                tsa.url, root_hex.encode(), timestamping.load_pem(authority.root_pem), timeout=10
            )
            write(folder / f"tsa-{k}.tsr", token.response)
            write(folder / f"tsa-{k}-ca.pem", token.root_certificate.encode())
            stamps.append({"response": f"tsa-{k}.tsr", "ca": f"tsa-{k}-ca.pem"})
    write_json(folder / "anchor.json", {"root": root_hex, "timestamps": stamps})
    write(folder / "root.txt", root_hex.encode())
    anchoring = {"anchors": ["A-1"], "items_anchored": 2, "items": 2}
    write_json(data / "export.json", {"items": items, "anchoring": anchoring})
    bagit.make_bag(str(data), checksums=["sha256"])
    return data  # bagit made the bag there


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def write_json(path: Path, value) -> None:
    write(path, json.dumps(value).encode())


@pytest.fixture
def bag(built, tmp_path) -> Path:
    copy = tmp_path / "bag"
    shutil.copytree(built, copy)
    return copy


def edit(bag: Path, relative: str, change) -> None:
    path = bag / "data" / relative
    value = json.loads(path.read_text())
    change(value)
    path.write_text(json.dumps(value))


def checked(bag: Path) -> bag_check.Report:
    bagit.Bag(str(bag)).save(manifests=True)  # as a forger would
    return bag_check.check(bag)


def problems(report: bag_check.Report) -> list[str]:
    return [line for line in report.lines if line.startswith("PROBLEM")]


def test_the_bag_as_built_passes_every_check(bag):
    report = checked(bag)
    assert problems(report) == [] and report.problems == 0
    text = "\n".join(report.lines)
    for code in ("EV-000001", "EV-000002"):
        assert f"{code} custody: 3 events, one unbroken chain" in text
        assert f"{code} original: the bytes the log received" in text
        assert f"{code} anchor: event 3 (the chain's head then) is leaf " in text
    assert text.count("A-1 tsa-") == 2 and "timestamped 20" in text


def test_each_problem_is_counted(bag):
    edit(bag, "items/EV-000001/custody.json", lambda d: d["events"][2].update(action="exported"))
    edit(bag, "items/EV-000002/custody.json", lambda d: d["events"][2].update(action="exported"))
    report = checked(bag)
    assert report.problems == len(problems(report)) == 2  # one event each


def test_a_link_broken_with_the_sequence_right_is_a_problem(bag):
    edit(
        bag, "items/EV-000001/custody.json", lambda d: d["events"][1].update(previous_hash="0" * 64)
    )
    report = checked(bag)
    assert "PROBLEM EV-000001 custody: event 2 does not follow the one before it" in report.lines
    assert not any(line.startswith("EV-000001 custody: ") for line in report.lines)


def test_a_sequence_renumbered_with_the_links_right_is_a_problem(bag):
    def renumber(data):
        data["events"][1]["sequence"] = 7

    edit(bag, "items/EV-000001/custody.json", renumber)
    report = checked(bag)
    assert "PROBLEM EV-000001 custody: event 2 does not follow the one before it" in report.lines


def test_an_edited_event_is_named_and_its_chain_not_called_unbroken(bag):
    edit(bag, "items/EV-000002/custody.json", lambda d: d["events"][0].update(action="exported"))
    report = checked(bag)
    assert "PROBLEM EV-000002 custody: event 1 does not match its hash" in report.lines
    assert not any(line.startswith("EV-000002 custody: ") for line in report.lines)


def test_an_empty_log_is_a_problem(bag):
    edit(bag, "items/EV-000001/custody.json", lambda d: d.update(events=[]))
    assert "PROBLEM EV-000001 custody: the log has no event" in checked(bag).lines


def test_withheld_events_are_named(bag):
    edit(
        bag, "items/EV-000001/custody.json", lambda d: d["events"][0].update(details_withheld=True)
    )
    text = "\n".join(checked(bag).lines)
    assert "(events 1 had protected details withheld: linked, their content not recomputed" in text


def test_an_original_renamed_or_moved_or_without_a_received_event_is_a_problem(bag):
    original = next((bag / "data" / "originals" / "EV-000001").iterdir())
    original.rename(original.with_name("f" * 64 + ".txt"))
    edit(
        bag,
        "export.json",
        lambda d: d["items"][0].update(original=f"data/originals/EV-000001/{'f' * 64}.txt"),
    )
    report = checked(bag)
    assert any(
        line.startswith("PROBLEM EV-000001 original: its SHA-256 is ") for line in report.lines
    )


def test_an_original_path_outside_its_folder_is_refused(bag):
    elsewhere = (
        "data/originals/EV-000002/"
        + next((bag / "data" / "originals" / "EV-000002").iterdir()).name
    )
    edit(bag, "export.json", lambda d: d["items"][0].update(original=elsewhere))
    report = checked(bag)
    assert any("unexpected original path" in line for line in problems(report))


def test_an_original_whose_log_received_nothing_is_a_problem(bag):
    edit(bag, "items/EV-000001/custody.json", lambda d: d["events"][1].update(action="viewed"))
    report = checked(bag)
    assert any("EV-000001 original: its SHA-256 is" in line and "received None" in line
               for line in report.lines)  # fmt: skip


def test_a_proof_of_an_event_the_log_lacks_says_so(bag):
    edit(bag, "items/EV-000001/anchor.json", lambda d: d.update(sequence=9))
    assert any("the log has no such event" in line for line in checked(bag).lines)


def test_an_unlisted_anchor_named_by_a_proof_is_a_problem(bag):
    edit(bag, "items/EV-000001/anchor.json", lambda d: d.update(anchor="A-9"))
    assert (
        "PROBLEM EV-000001 anchor: its proof names A-9, which the bag does not list"
        in checked(bag).lines
    )


def test_codes_of_the_wrong_kind_are_refused(bag):
    edit(bag, "export.json", lambda d: d["anchoring"].update(anchors=["EV-000001"]))
    report = checked(bag)
    assert report.problems and "unexpected code 'EV-000001'" in "\n".join(report.lines)


def test_a_file_name_that_climbs_out_is_refused_even_where_it_would_land_on_the_same_file(bag):
    edit(
        bag,
        "anchors/A-1/anchor.json",
        lambda d: d["timestamps"][0].update(ca="../A-1/tsa-1-ca.pem"),
    )
    report = checked(bag)
    assert any("unexpected file name" in line for line in problems(report))


def test_hashes_in_capitals_are_refused(bag):
    edit(
        bag, "items/EV-000001/anchor.json", lambda d: d.update(path=[h.upper() for h in d["path"]])
    )
    assert any("expected 64 hex digits" in line for line in problems(checked(bag)))


@pytest.mark.parametrize(
    ("value", "ok"),
    [(0, True), (2**63 - 1, True), (-1, False), (2**63, False), (True, False), (1.0, False)],
)
def test_whole_numbers_are_checked_for_their_type_and_range(value, ok):
    if ok:
        assert bag_check._int(value) == value
    else:
        with pytest.raises(ValueError, match=f"expected a whole number, found {str(value)[:40]}"):
            bag_check._int(value)


def test_the_first_token_failing_does_not_stop_the_second_being_checked(bag, tmp_path):
    other = make_authority(tmp_path / "other")
    (bag / "data" / "anchors" / "A-1" / "tsa-1-ca.pem").write_bytes(other.root_pem)
    report = checked(bag)
    assert "PROBLEM A-1 tsa-1.tsr: The timestamp does not verify" in "\n".join(report.lines)
    assert any(line.startswith("A-1 tsa-2.tsr: CN=") for line in report.lines)


def test_an_anchor_without_a_token_is_said_to_be_the_servers_word_only(bag):
    edit(bag, "anchors/A-1/anchor.json", lambda d: d.update(timestamps=[]))
    text = "\n".join(checked(bag).lines)
    assert "A-1: root " in text and "was not timestamped (no TSA answered or none set)" in text
    assert "(not timestamped: the server's word only)" in text


def test_a_root_txt_that_differs_is_a_problem(bag):
    (bag / "data" / "anchors" / "A-1" / "root.txt").write_text("0" * 64)
    assert "PROBLEM A-1: root.txt is not the anchor's root" in checked(bag).lines


def test_an_anchor_record_that_cannot_be_read_is_named(bag):
    (bag / "data" / "anchors" / "A-1" / "anchor.json").write_text("{")
    report = checked(bag)
    assert any(
        line.startswith("PROBLEM A-1: the anchor's records cannot be read: ")
        for line in report.lines
    )


def test_short_messages_keep_the_first_line_or_the_exceptions_name():
    assert bag_check._short(ValueError("first\nsecond")) == "first"
    assert bag_check._short(KeyError()) == "KeyError"
    assert len(bag_check._short(ValueError("x" * 400))) == 300


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (bag_check._int, 2**200, f"expected a whole number, found {str(2**200)[:40]}"),
        (bag_check._hex, "g" * 100, f"expected 64 hex digits, found {'g' * 70}"),
        (bag_check._file, "." * 100, f"unexpected file name {'.' * 60!r}"),
        (lambda v: bag_check._code(v, "EV"), "x" * 100, f"unexpected code {'x' * 40!r}"),
    ],
)
def test_a_hostile_value_is_named_but_cut_short(check, value, message):
    """A bag's values are echoed in PROBLEM lines: never more than a few dozen characters."""
    with pytest.raises(ValueError) as refused:
        check(value)
    assert str(refused.value) == message


@pytest.mark.parametrize("area", ["items", "originals", "anchors"])
def test_anything_in_the_bag_that_export_json_does_not_list_is_named(bag, area):
    (bag / "data" / area / "EV-000099").mkdir()
    report = checked(bag)
    assert f"PROBLEM {area}/EV-000099: in the bag but not listed in export.json" in report.lines


def test_an_area_the_bag_lacks_does_not_stop_the_others_being_looked_at(bag):
    shutil.rmtree(bag / "data" / "originals")
    edit(bag, "export.json", lambda d: [item.update(original=None) for item in d["items"]])
    (bag / "data" / "anchors" / "A-7").mkdir()
    report = checked(bag)
    assert problems(report) == ["PROBLEM anchors/A-7: in the bag but not listed in export.json"]


def test_a_bag_without_anchoring_or_its_count_is_read_as_one_that_proves_nothing(bag):
    edit(bag, "export.json", lambda d: d["anchoring"].pop("items_anchored"))
    assert problems(checked(bag)) == []
    for code in ("EV-000001", "EV-000002"):
        edit(bag, f"items/{code}/anchor.json", lambda d: d.clear() or d.update(anchored=False))
    edit(bag, "export.json", lambda d: d.pop("anchoring"))
    shutil.rmtree(bag / "data" / "anchors")
    assert problems(checked(bag)) == []


def test_a_count_of_anchored_items_that_does_not_add_up_is_named(bag):
    edit(bag, "export.json", lambda d: d["anchoring"].update(items_anchored=5))
    assert "PROBLEM export.json counts 5 items anchored, the bag proves 2" in checked(bag).lines


def test_the_first_line_says_what_fixity_covered(bag):
    report = checked(bag)
    oxum = bagit.Bag(str(bag)).info["Payload-Oxum"]
    assert report.lines[0] == (
        f"bag: valid BagIt 0.97, {oxum} (bytes.files); every payload file matches sha256 manifests"
    )


def test_a_timestamp_line_names_the_bags_ca_to_compare(bag, authority):
    ca = timestamping.load_pem(authority.root_pem)[0]
    fingerprint = hashlib.sha256(ca.public_bytes(bag_check.Encoding.DER)).hexdigest()
    line = next(line for line in checked(bag).lines if line.startswith("A-1 tsa-1.tsr: "))
    assert line.endswith(
        f"verified under tsa-1-ca.pem, the bag's CA {ca.subject.rfc4514_string()} "
        f"(SHA-256 fingerprint {fingerprint}): compare it with the root the TSA publishes"
    )


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (bag_check._dict, [], "expected an object, found list"),
        (bag_check._list, {}, "expected a list, found dict"),
    ],
)
def test_a_record_of_the_wrong_shape_is_named(check, value, message):
    with pytest.raises(ValueError) as refused:
        check(value)
    assert str(refused.value) == message


def test_an_item_whose_records_cannot_be_read_is_named_and_the_others_checked(bag):
    (bag / "data" / "items" / "EV-000001" / "custody.json").write_text("[]")
    report = checked(bag)
    assert (
        "PROBLEM the bag's records cannot be read: expected an object, found list" in report.lines
    )
    assert any(line.startswith("EV-000002 custody: 3 events") for line in report.lines)


def test_each_line_says_exactly_what_was_proved(bag):
    lines = checked(bag).lines
    log = json.loads((bag / "data" / "items" / "EV-000001" / "custody.json").read_text())
    proof = json.loads((bag / "data" / "items" / "EV-000001" / "anchor.json").read_text())
    received, root = log["events"][1]["observed_sha256"], proof["root"]
    tokens = [line for line in lines if line.startswith("A-1 tsa-")]
    stamps = "; ".join(
        "timestamped " + line.split(" at ", 1)[1].split(" (serial")[0] + " by CN=Test TSA"
        for line in tokens
    )
    assert "EV-000001 custody: 3 events, one unbroken chain" in lines
    assert f"EV-000001 original: the bytes the log received (SHA-256 {received[:16]}…)" in lines
    assert (
        f"EV-000001 anchor: event 3 (the chain's head then) is leaf 1 of 3 under A-1's root "
        f"{root[:16]}… ({stamps})"
    ) in lines
    assert all(line.startswith(f"A-1 tsa-{k}.tsr: CN=Test TSA signed root {root[:16]}… at ")
               for k, line in enumerate(tokens, start=1))  # fmt: skip
    edit(bag, "anchors/A-1/anchor.json", lambda d: d.update(timestamps=[]))
    assert f"A-1: root {root[:16]}… was not timestamped (no TSA answered or none set)" in (
        checked(bag).lines
    )


def test_a_link_rewritten_with_its_hash_recomputed_is_still_a_break(bag):
    """Event 2 names another event before it, and its own hash is recomputed to match: its
    hash checks, its link does not, and the chain is not called unbroken."""

    def relink(data):
        event = data["events"][1]
        event["previous_hash"] = "0" * 64
        event["event_hash"] = custody.payload_digest(bag_check.event_payload("EV-000001", event))

    edit(bag, "items/EV-000001/custody.json", relink)
    report = checked(bag)
    assert "PROBLEM EV-000001 custody: event 2 does not follow the one before it" in report.lines
    assert "PROBLEM EV-000001 custody: event 2 does not match its hash" not in report.lines
    assert not any(line.startswith("EV-000001 custody: ") for line in report.lines)
