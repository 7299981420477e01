"""Put back what the data migrations seeded, after a transactional test's flush."""

import importlib
from types import SimpleNamespace

from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection

SEEDS = [
    importlib.import_module("tracker.migrations.0002_seed_vocabularies_and_roles").seed,
    importlib.import_module("tracker.migrations.0005_review_roles").grant,
    importlib.import_module("tracker.migrations.0012_attribution_review_roles")
    .Migration.operations[0]
    .code,
]


def ensure_seed_data() -> None:
    """Roles, vocabularies and code counters: transactional tests end with a flush
    that empties them with everything else."""
    if not Group.objects.filter(name="Editor").exists():
        for seed in SEEDS:
            seed(apps, SimpleNamespace(connection=connection))
