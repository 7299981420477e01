"""An incident's relied-on items grouped into independent sources: items count once
when they come from the same source (its name), hold the same web address, are
near-duplicates of each other (the same photo re-posted, a frame of a clip), when one
was made from another (a capture's screenshot, PDF or media), when they are the
testimony of the same witness, or the two scenes of one before/after comparison."""

from __future__ import annotations

from dataclasses import dataclass

from evidence.corroboration.facts import Case, Item


@dataclass
class Source:
    items: list[Item]
    why: list[str]  # why its items were grouped (empty for a single item)

    @property
    def codes(self) -> list[str]:
        return [item.code for item in self.items]


def independent(case: Case) -> list[Source]:
    """``case``'s items as independent sources, in the order of their first item."""
    parent = {item.id: item.id for item in case.items}
    why: dict[int, list[str]] = {item.id: [] for item in case.items}
    by_id = {item.id: item for item in case.items}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(a: Item, b: Item, reason: str) -> None:
        ra, rb = root(a.id), root(b.id)
        first, second = sorted((ra, rb))
        if first != second:
            parent[second] = first
            why[first] += why.pop(second)
        line = f"{a.code} and {b.code}: {reason}"
        if line not in why[first]:
            why[first].append(line)

    def join_by(key, reason) -> None:
        first: dict[object, Item] = {}
        for item in case.items:
            for value in key(item):
                if value in first:
                    join(first[value], item, reason(item, value))
                else:
                    first[value] = item

    join_by(
        lambda i: (i.source,) if i.source else (),
        lambda item, _: f"the same source ({item.source_name})",
    )
    join_by(lambda i: i.addresses, lambda _, value: f"the same web address ({value})")
    join_by(
        lambda i: (i.witness[0],) if i.witness else (),
        lambda item, _: f"the same witness ({item.witness[2]})",
    )
    for a, b in sorted({(min(pair), max(pair)) for pair in case.near_duplicates}):
        join(by_id[a], by_id[b], "near-duplicate files")
    for part, whole in sorted(case.derived):
        join(by_id[part], by_id[whole], f"made from {by_id[whole].code}'s capture")
    scenes = {item.scene.id: item for item in case.items if item.scene}
    for item in case.items:
        if item.scene and item.scene.before_id in scenes:
            join(scenes[item.scene.before_id], item, "before and after scenes of one comparison")
    groups: dict[int, list[Item]] = {}
    for item in case.items:
        groups.setdefault(root(item.id), []).append(item)
    return [Source(members, why.get(key, [])) for key, members in groups.items()]
