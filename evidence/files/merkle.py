"""The Merkle tree of a custody anchor (``evidence.files.anchoring``): plain functions,
no database, so that ``verify_bag`` checks a bag with nothing but this module.

The tree is RFC 9162's (Certificate Transparency 2.0, section 2.1), over SHA-256:

- a leaf's hash is ``SHA-256(0x00 || text)``; an inner node's is
  ``SHA-256(0x01 || left || right)`` (the prefixes keep a leaf from passing for a node);
- the tree of n > 1 leaves splits at k, the largest power of two below n: the left
  subtree holds the first k leaves, the right one the rest (no leaf is duplicated).

A custody anchor's leaves are, in order: the previous anchor's root
(``previous <root hex>``, or ``previous none`` for the first anchor), then one per item
whose chain changed, ``<item code> <sequence> <event_hash>``: the item's chain head
as it was when anchored. The inclusion path of a leaf is RFC 9162's audit path
(2.1.3.1), checked by its algorithm (2.1.3.2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

NO_PREVIOUS = "none"


def leaf_hash(text: str) -> bytes:
    return hashlib.sha256(b"\x00" + text.encode("utf-8")).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def head_text(code: str, sequence: int, head_hash: str) -> str:
    """The text of an item's leaf: its chain head as anchored."""
    return f"{code} {sequence} {head_hash}"


def previous_text(previous_root: str) -> str:
    """The text of an anchor's first leaf: the root of the anchor before it."""
    return f"previous {previous_root or NO_PREVIOUS}"


def root_of(leaves: Iterable[bytes]) -> bytes:
    """The root over leaf hashes given one at a time, in order, holding at most one
    subtree per bit of the count (about 20 for a million leaves): streaming.

    Equal-sized subtrees are joined as soon as they are complete; what is left at the
    end (subtrees of decreasing size) is joined from the right, which is RFC 9162's
    split at the largest power of two."""
    stack: list[tuple[int, bytes]] = []  # (leaf count, hash), sizes decreasing
    for leaf in leaves:
        size, digest = 1, leaf
        while stack and stack[-1][0] == size:
            below, left = stack.pop()
            size, digest = below + size, node_hash(left, digest)
        stack.append((size, digest))
    if not stack:
        raise ValueError("a tree needs at least one leaf")
    digest = stack.pop()[1]
    while stack:
        digest = node_hash(stack.pop()[1], digest)
    return digest


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` (RFC 9162 2.1.3.1), from the leaf up."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    path: list[bytes] = []
    low, high = 0, len(leaves)  # the subtree holding the leaf
    siblings: list[bytes] = []
    while high - low > 1:
        k = _split(high - low)
        if index < low + k:
            siblings.append(root_of(leaves[low + k : high]))
            high = low + k
        else:
            siblings.append(root_of(leaves[low : low + k]))
            low = low + k
    path.extend(reversed(siblings))
    return path


def levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first, root last: each node joins a pair of the
    level below, and an odd last node goes up as it is (RFC 9162's tree, built from the
    bottom). Built once, it gives any leaf's path in log2 n steps (``path_in``)."""
    if not leaves:
        raise ValueError("a tree needs at least one leaf")
    built = [list(leaves)]
    while len(built[-1]) > 1:
        below = built[-1]
        above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        built.append(above)
    return built


def path_in(tree: list[list[bytes]], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` read from ``levels``: the same as
    ``inclusion_path`` (a node carried up without a sibling adds nothing)."""
    if not 0 <= index < len(tree[0]):
        raise ValueError(f"leaf {index} is not in a tree of {len(tree[0])}")
    path = []
    for level in tree[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index //= 2
    return path


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root that leaf ``index`` of ``size`` leaves and its audit path lead to
    (RFC 9162 2.1.3.2); ValueError if the path cannot belong to such a tree."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    fn, sn = index, size - 1
    digest = leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("the path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the path is shorter than the tree is deep")
    return digest
