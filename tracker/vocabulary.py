"""The case's vocabularies (attack types, weapons, target types) held in the cache.

Every page of the workspace lists them (the filter's choices) and names an incident's
target types; they are a few dozen rows that change a few times a year. They are held
in the cache (``TRACKER_CACHE_URL``) as plain terms, so that a page reads none of them.

Safe to share between users: a vocabulary is the same for everyone who may browse (it is
a list of words, not a record; no rule of visibility reads it), so the key names the
vocabulary and nothing else. Any other cache of the tracker must put in its key
everything that decides what its user may see.

Invalidation: every save or delete of a term (the admin, a command, the demo) starts a
new generation of that vocabulary's key at once and again when the transaction commits,
so that a page that read the old rows in between cannot keep them: the next page reads
the rows again. With Redis (a deployment, ``make serve``) every worker sees the new
generation at once; with the default local memory (one process, ``make run``) another
process would keep its copy until ``HELD_SECONDS``. Writes that send no signal
(``QuerySet.update``, a migration) are seen after ``HELD_SECONDS`` as well. A
transaction that changed a vocabulary reads it from the database until it ends (what it
reads may be rolled back: it is not held). A cache that cannot be reached is logged and
the database read instead.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from redis.exceptions import RedisError

from tracker.models import AttackType, Incident, TargetType, Weapon

VOCABULARIES: tuple[type[Model], ...] = (AttackType, Weapon, TargetType)
HELD_SECONDS = 300
# A cache that cannot be reached (Redis down or slow): the database answers instead.
CACHE_DOWN = (RedisError, OSError)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Term:
    pk: int
    name: str
    colour: str = ""  # target types only

    def __str__(self) -> str:
        return self.name


def _generation_key(model: type[Model]) -> str:
    return f"vocabulary:{model._meta.label_lower}:generation"


def _new_generation() -> str:
    """Never one used before, even if the cache lost the current one (a counter would
    start again at a number whose rows may still be held)."""
    return uuid.uuid4().hex


def terms(model: type[Model]) -> dict[int, Term]:
    """Every term of ``model`` (retired ones too, as old records name them), by primary
    key, in the vocabulary's order (by name)."""
    fields = ["pk", "name", "colour"] if model is TargetType else ["pk", "name"]
    rows = model._default_manager.order_by("name", "pk").values_list(*fields)
    if _changed_here(model):  # this transaction's own, perhaps undone later: not held
        return {row[0]: Term(*row) for row in rows}
    try:
        generation = cache.get_or_set(_generation_key(model), _new_generation, timeout=None)
        key = f"vocabulary:{model._meta.label_lower}:{generation}"
        held = cache.get(key)
        if held is None:
            held = list(rows)
            cache.set(key, held, HELD_SECONDS)
    except CACHE_DOWN as exc:  # the pages work without the cache, a little slower
        log.warning("vocabulary cache unavailable (%s): read from the database", exc)
        held = list(rows)
    return {row[0]: Term(*row) for row in held}


def target_types_of(incidents: Iterable[Incident]) -> None:
    """Set ``incident.targets`` (its target types as terms, by name) on each of
    ``incidents``: one query of the links, the names from the cache."""
    shown = {incident.pk: incident for incident in incidents}
    names = terms(TargetType)
    found: dict[int, list[Term]] = defaultdict(list)
    through = Incident.target_types.through.objects.filter(incident_id__in=shown)
    for incident_id, term_id in through.values_list("incident_id", "targettype_id"):
        if term_id in names:
            found[incident_id].append(names[term_id])
    for pk, incident in shown.items():
        incident.targets = sorted(found[pk], key=lambda term: (term.name, term.pk))


class _Committed:
    """What ``forget`` asks to run on commit; while it waits in the connection's list, the
    open transaction has changed ``model``'s terms. Django drops it from the list when the
    transaction or the savepoint that made the change rolls back."""

    def __init__(self, model: type[Model]) -> None:
        self.model, self.done = model, False

    def __call__(self) -> None:
        self.done = True
        _announce(self.model)


def _changed_here(model: type[Model]) -> bool:
    """Has the open transaction changed ``model``'s terms, not rolled back nor committed
    yet? Its reads see rows a rollback may undo."""
    waiting = transaction.get_connection().run_on_commit
    return any(
        isinstance(entry[1], _Committed) and entry[1].model is model and not entry[1].done
        for entry in waiting
    )


def forget(model: type[Model]) -> None:
    """A new generation of ``model``'s terms: now, and again once the change commits;
    until then this transaction's reads of them are not held."""
    _announce(model)
    transaction.on_commit(_Committed(model))


def _announce(model: type[Model]) -> None:
    """A new generation of ``model``'s terms: the next read of them reads the rows."""
    try:
        cache.set(_generation_key(model), _new_generation(), timeout=None)
    except CACHE_DOWN as exc:  # the change is saved; held terms lapse in HELD_SECONDS
        log.error("vocabulary cache unavailable (%s): %s's change not announced", exc, model)


def _changed(sender, **kwargs) -> None:
    forget(sender)


def connect() -> None:
    """Called by ``TrackerConfig.ready``."""
    for model in VOCABULARIES:
        uid = f"vocabulary-{model._meta.label_lower}"
        post_save.connect(_changed, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=uid + "-delete")
