"""Custody anchors: the heads of the custody chains, at a moment, under one Merkle root
that independent Time-Stamping Authorities signed (``evidence.files.anchoring``).

An ``Anchor`` is a root and how it was made; its ``AnchorLeaf`` rows are the chain
heads it covers (the tree is rebuilt from them for a proof); each ``AnchorToken`` is one
TSA's answer for the root (RFC 3161), or why there is none yet. Written only by
``evidence.files.anchoring``; nothing here is edited afterwards except ``latest`` (which
leaf is an item's newest) and a token not yet granted.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from evidence.models.items import EvidenceItem


class Anchor(models.Model):
    made_at = models.DateTimeField(default=timezone.now)
    root = models.CharField(max_length=64)  # hex SHA-256, the Merkle root
    previous_root = models.CharField(max_length=64, blank=True)  # "" for the first anchor
    # Leaves in the tree: the previous root's leaf, then one per item.
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["-made_at", "-pk"]

    def __str__(self) -> str:
        return f"A-{self.pk} {self.root[:12]}"

    @property
    def code(self) -> str:
        return f"A-{self.pk}"


class AnchorLeaf(models.Model):
    """An item's chain head as anchored: the event ``sequence`` and its hash."""

    anchor = models.ForeignKey(Anchor, models.PROTECT, related_name="leaves")
    index = (
        models.PositiveIntegerField()
    )  # its place among the tree's leaves (0 is the previous root)
    item = models.ForeignKey(EvidenceItem, models.PROTECT, related_name="anchor_leaves")
    sequence = models.PositiveIntegerField()
    head_hash = models.CharField(max_length=64)
    latest = models.BooleanField(default=True)  # the item's newest leaf

    class Meta:
        ordering = ["anchor_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["anchor", "index"], name="anchor_leaf_index_unique"),
            models.UniqueConstraint(
                fields=["item"], condition=Q(latest=True), name="anchor_leaf_one_latest"
            ),
        ]

    def __str__(self) -> str:
        return f"A-{self.anchor_id} leaf {self.index}"


class AnchorToken(models.Model):
    """One TSA's timestamp of an anchor's root, or the reason it has none yet."""

    class State(models.TextChoices):
        GRANTED = "granted", "timestamped"
        FAILED = "failed", "not yet timestamped"

    anchor = models.ForeignKey(Anchor, models.PROTECT, related_name="tokens")
    tsa_url = models.CharField(max_length=500)
    state = models.CharField(max_length=8, choices=State.choices)
    attempts = models.PositiveIntegerField(default=0)
    asked_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)
    # A granted token: the TSA's whole response (DER), as received.
    response = models.BinaryField(blank=True, default=b"")
    gen_time = models.DateTimeField(null=True, blank=True)  # the time the TSA signed
    tsa_name = models.CharField(max_length=500, blank=True)  # its signing certificate's subject
    serial = models.CharField(max_length=80, blank=True)
    # PEM: the certificates the response carries, and the trusted root it verified under.
    certificates = models.TextField(blank=True)
    root_certificate = models.TextField(blank=True)

    class Meta:
        ordering = ["anchor_id", "tsa_url"]
        constraints = [
            models.UniqueConstraint(fields=["anchor", "tsa_url"], name="anchor_token_per_tsa"),
        ]

    def __str__(self) -> str:
        return f"A-{self.anchor_id} {self.tsa_url} {self.state}"
