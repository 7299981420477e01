"""Every entry the tracker puts in its cache (TRACKER_CACHE_URL) is one of the kinds that
may be shared between users who see different records: the vocabularies' terms and
their generation (tracker/vocabulary.py, tested in test_vocabulary.py) and the API's
rate counts (tracker/api/auth.py). After every kind of page, file and API call, by a
user who sees restricted incidents and protected identity and one who does not, the
cache holds nothing else: a new cache fails here until it is listed, with its own test
that its key holds everything that decides what its user may see."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse

from tracker.api.tests.calls import token_client
from tracker.models import Sensitivity
from tracker.tests.factories import EvidenceItemFactory, EvidenceLinkFactory, IncidentFactory

pytestmark = pytest.mark.django_db

# key (as the locmem cache writes it: ":<version>:<key>") -> what its value may be
ALLOWED = {
    re.compile(r":1:vocabulary:tracker\.(attacktype|weapon|targettype):generation"): "token",
    re.compile(r":1:vocabulary:tracker\.(attacktype|weapon|targettype):[0-9a-f]{32}"): "terms",
    re.compile(r":1:throttle_(token|anonymous)_[tu]?[0-9.:a-f]+"): "counts",
}


def entries() -> dict[str, object]:
    """What the (local-memory) cache holds now, by key."""
    held = cache._cache  # LocMemCache's store: the test settings' cache
    return {key: cache.get(key.split(":", 2)[2]) for key in list(held)}


def test_after_every_kind_of_request_the_cache_holds_only_shareable_entries(
    client, researcher, identity_holder
):
    secret = IncidentFactory(title="Restricted sample", sensitivity=Sensitivity.RESTRICTED)
    shown = IncidentFactory(title="Open sample")
    item = EvidenceItemFactory(title="Sample item")
    EvidenceLinkFactory(item=item, incident=secret)
    identity_holder.user_permissions.add(
        Permission.objects.get(codename="view_restricted_incident")
    )
    for user in (identity_holder, researcher):
        client.force_login(user)
        for url in (
            reverse("incidents:list"),
            reverse("incidents:list") + "?target_type=1&weapon=1",
            reverse("incidents:detail", args=[shown.code]),
            reverse("incidents:detail", args=[secret.code]),
            reverse("incidents:flights", args=[shown.code]) + "?part=1",
            reverse("map"),
            reverse("timeline"),
            reverse("admin:tracker_incident_changelist"),
            reverse("admin:evidence_evidenceitem_changelist"),
            reverse("admin:tracker_incident_change", args=[shown.pk]),
        ):
            assert client.get(url).status_code in (200, 302, 403, 404), url
        api = token_client(user)
        assert api.get("/api/incidents/").status_code == 200
        assert api.get(f"/api/incidents/{secret.code}/").status_code in (200, 404)
    client.logout()
    client.get("/api/incidents/")  # anonymous: counted by address
    held = entries()
    kinds = {kind for key in held for pattern, kind in ALLOWED.items() if pattern.fullmatch(key)}
    assert kinds == {"token", "terms", "counts"}, sorted(held)  # each kind was written
    for key, value in held.items():
        kind = next((kind for pattern, kind in ALLOWED.items() if pattern.fullmatch(key)), None)
        assert kind is not None, f"an entry no test vouches for: {key!r}"
        if kind == "terms":  # (pk, name[, colour]) of a vocabulary: no record, no user
            assert all(isinstance(row[0], int) and isinstance(row[1], str) for row in value)
            assert all(len(row) in (2, 3) for row in value)
        elif kind == "counts":  # DRF's history of call times
            assert all(isinstance(at, float) for at in value)
        text = repr(value)
        for private in (secret.code, secret.title, shown.title, item.title, "Restricted"):
            assert private not in text, (key, private)
