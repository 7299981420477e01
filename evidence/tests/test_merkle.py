"""The anchor's Merkle tree (``evidence.files.merkle``) against RFC 9162's definition."""

from __future__ import annotations

import hashlib

import pytest

from evidence.files import merkle


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, written as the RFC writes it (recursive)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = reference_root(leaves[:k]), reference_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(merkle.head_text(f"EV-{i:06d}", i + 1, "ab" * 32)) for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33])
def test_streaming_root_is_rfc_9162s(n):
    given = leaves(n)
    assert merkle.root_of(iter(given)) == reference_root(given)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 8, 11, 16, 21])
def test_every_leafs_path_leads_to_the_root_and_is_log2_long(n):
    given = leaves(n)
    root = merkle.root_of(given)
    for index in range(n):
        path = merkle.inclusion_path(given, index)
        assert len(path) <= max(1, (n - 1).bit_length())
        assert merkle.root_from_path(given[index], index, n, path) == root


def test_a_path_does_not_prove_another_leaf_place_or_size():
    given = leaves(11)
    root = merkle.root_of(given)
    path = merkle.inclusion_path(given, 6)
    other = merkle.leaf_hash(merkle.head_text("EV-000006", 7, "cd" * 32))
    assert merkle.root_from_path(other, 6, 11, path) != root
    assert merkle.root_from_path(given[6], 5, 11, path) != root
    with pytest.raises(ValueError):
        merkle.root_from_path(given[6], 6, 4, path)  # longer than that tree is deep
    with pytest.raises(ValueError):
        merkle.root_from_path(given[6], 6, 11, path[:-1])
    with pytest.raises(ValueError):
        merkle.root_from_path(given[6], 11, 11, path)


def test_a_leaf_cannot_pass_for_a_node():
    # The 0x00/0x01 prefixes: two leaves' hashes joined are not a leaf of that text.
    a, b = leaves(2)
    assert merkle.leaf_hash((a + b).hex()) != merkle.node_hash(a, b)
    with pytest.raises(ValueError):
        merkle.root_of([])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 7, 8, 9, 12, 16, 17, 31, 33, 100])
def test_levels_give_the_same_root_and_paths_as_the_rfcs_definition(n):
    given = leaves(n)
    tree = merkle.levels(given)
    assert tree[-1] == [reference_root(given)]
    for index in range(n):
        assert merkle.path_in(tree, index) == merkle.inclusion_path(given, index)
    with pytest.raises(ValueError, match=f"leaf {n} is not in a tree of {n}"):
        merkle.path_in(tree, n)
    with pytest.raises(ValueError, match=f"leaf {n} is not in a tree of {n}"):
        merkle.inclusion_path(given, n)
    with pytest.raises(ValueError):
        merkle.inclusion_path(given, -1)


def test_each_refusal_says_why():
    given = leaves(5)
    path = merkle.inclusion_path(given, 4)
    with pytest.raises(ValueError) as refused:
        merkle.root_from_path(given[4], 5, 5, path)
    assert str(refused.value) == "leaf 5 is not in a tree of 5"
    with pytest.raises(ValueError) as refused:
        merkle.root_from_path(given[4], 4, 5, [*path, path[0]])
    assert str(refused.value) == "the path is longer than the tree is deep"
    with pytest.raises(ValueError) as refused:
        merkle.root_from_path(given[4], 4, 5, path[:-1] if len(path) > 1 else [])
    assert str(refused.value) == "the path is shorter than the tree is deep"
    with pytest.raises(ValueError) as refused:
        merkle.levels([])
    assert str(refused.value) == "a tree needs at least one leaf"
    with pytest.raises(ValueError) as refused:
        merkle.inclusion_path(given, 5)
    assert str(refused.value) == "leaf 5 is not in a tree of 5"
    with pytest.raises(ValueError) as refused:
        merkle.path_in(merkle.levels(given), 5)
    assert str(refused.value) == "leaf 5 is not in a tree of 5"
