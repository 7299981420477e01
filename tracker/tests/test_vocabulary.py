"""The vocabulary cache (tracker.vocabulary): pages read no vocabulary table once it is
held, a change is seen on the next page (in this process and, through Redis, in every
worker), nothing a user may not see is held or shown through it, and the filter form
built once per class carries nothing from one request to the next."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tracker import vocabulary
from tracker.models import AttackType, Incident, Sensitivity, TargetType, Weapon
from tracker.tests.factories import IncidentFactory

LIST = reverse("incidents:list")
TABLES = ("tracker_attacktype", "tracker_weapon", "tracker_targettype")


def vocabulary_reads(queries) -> list[str]:
    """The queries that read a vocabulary's own table (not an incident's links to it)."""
    return [q["sql"] for q in queries if any(f'FROM "{t}"' in q["sql"] for t in TABLES)]


@pytest.fixture
def targeted(db, django_capture_on_commit_callbacks):
    # Committed, as a page finds the case (a transaction that changed a vocabulary reads
    # it from the database until it ends).
    with django_capture_on_commit_callbacks(execute=True):
        school = TargetType.objects.get(name="School")
        incident = IncidentFactory(title="Strike on a school")
        incident.target_types.add(school)
    return incident, school


def test_a_page_reads_no_vocabulary_once_they_are_held(client, researcher, targeted):
    client.force_login(researcher)
    client.get(LIST)  # reads and holds them
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    assert response.status_code == 200
    assert vocabulary_reads(queries.captured_queries) == []
    html = response.content.decode()
    assert ">School</span>" in html  # the row's target type, from the cache
    assert f'value="{AttackType.objects.order_by("pk").first().pk}"' in html  # the choices


def test_a_renamed_term_is_on_the_next_page(
    client, researcher, targeted, django_capture_on_commit_callbacks
):
    incident, school = targeted
    weapon = Weapon.objects.order_by("pk").first()
    client.force_login(researcher)
    assert ">School</span>" in client.get(LIST).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        school.name = "Primary school"
        school.save()
        weapon.name = "Renamed weapon"
        weapon.save()
    html = client.get(LIST).content.decode()
    assert ">Primary school</span>" in html and ">School</span>" not in html
    assert f'<option value="{weapon.pk}">Renamed weapon</option>' in html


def test_a_deleted_term_is_no_longer_offered_and_is_refused_not_filtered_by(client, researcher, db):
    term = AttackType.objects.create(name="Sample term to delete")
    client.force_login(researcher)
    assert "Sample term to delete" in client.get(LIST).content.decode()
    pk = term.pk
    term.delete()
    response = client.get(LIST, {"attack_type": pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sample term to delete" not in html
    assert "attack_type" in response.context["filter"].errors  # said, and not applied


def test_a_page_that_read_the_old_rows_before_the_commit_cannot_keep_them(
    researcher, targeted, django_capture_on_commit_callbacks
):
    incident, school = targeted
    with django_capture_on_commit_callbacks(execute=True):
        school.name = "Renamed in a transaction"
        school.save()
        # Another request, before the commit, reads the old name and holds it under the
        # generation it saw (simulated: what it would have written).
        generation = cache.get(vocabulary._generation_key(TargetType))
        stale = [(school.pk, "School", school.colour)]
        cache.set(f"vocabulary:tracker.targettype:{generation}", stale, 300)
        # This transaction itself reads its own change, never the held rows.
        assert vocabulary.terms(TargetType)[school.pk].name == "Renamed in a transaction"
    # The commit started a new generation: the next page reads the rows again.
    assert vocabulary.terms(TargetType)[school.pk].name == "Renamed in a transaction"


def test_the_cache_holds_terms_only_and_no_incident_one_may_not_see(
    client, researcher, editor, targeted, django_capture_on_commit_callbacks
):
    """One entry serves every user: it must hold nothing that depends on who asks. An
    editor's page fills it; a researcher's page shows neither the restricted incident nor,
    through the cache, anything of it."""
    with django_capture_on_commit_callbacks(execute=True):
        secret = IncidentFactory(title="Restricted sample", sensitivity=Sensitivity.RESTRICTED)
        special = TargetType.objects.create(name="Sample secret target", colour="#112233")
        secret.target_types.add(special)
    client.force_login(editor)
    client.get(LIST)
    held = cache.get(
        f"vocabulary:tracker.targettype:{cache.get(vocabulary._generation_key(TargetType))}"
    )
    assert held and all(len(row) == 3 for row in held)  # pk, name, colour: no incident
    assert {row[0] for row in held} == set(TargetType.objects.values_list("pk", flat=True))
    client.force_login(researcher)
    response = client.get(LIST)
    assert secret.code not in response.content.decode()
    assert secret.pk not in {row.pk for row in response.context["incidents"]}


def test_the_filter_form_carries_nothing_from_one_request_to_the_next(client, researcher, targeted):
    client.force_login(researcher)
    school = targeted[1]
    first = client.get(LIST, {"target_type": school.pk, "killed_at_least": "x"})
    assert first.context["filter"].errors
    second = client.get(LIST)
    html = second.content.decode()
    assert not second.context["filter"].errors
    assert f'value="{school.pk}" id="id_target_type_' in html
    assert " checked" not in html.split('name="target_type"')[1].split(">")[0]
    assert second.context["filter"].form.fields is not first.context["filter"].form.fields


def test_target_types_of_names_each_incidents_own(db):
    school, market = TargetType.objects.get(name="School"), TargetType.objects.get(name="Market")
    both, none = IncidentFactory(), IncidentFactory()
    both.target_types.set([school, market])
    none.target_types.clear()
    rows = list(Incident.objects.filter(pk__in=[both.pk, none.pk]).order_by("pk"))
    vocabulary.target_types_of(rows)
    assert [t.name for t in rows[0].targets] == ["Market", "School"]
    assert rows[1].targets == []


@pytest.fixture
def redis_cache(settings):
    """The cache a deployment uses: Redis on loopback, a database of its own."""
    location = "redis://127.0.0.1:6379/5"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    }
    from django.core.cache import caches

    caches["default"].clear()
    yield location
    caches["default"].clear()


def test_through_redis_another_worker_sees_the_change_at_once(
    redis_cache, targeted, django_capture_on_commit_callbacks
):
    from django.core.cache import caches

    incident, school = targeted
    vocabulary.terms(TargetType)  # held
    other_worker = RedisCache(redis_cache, {})  # another process's client of the same cache
    key = vocabulary._generation_key(TargetType)
    before = other_worker.get(key)
    assert before
    with django_capture_on_commit_callbacks(execute=True):
        school.name = f"Renamed {uuid.uuid4().hex[:6]}"
        school.save()
    assert other_worker.get(key) != before
    assert caches["default"].get(vocabulary._generation_key(TargetType)) != before
    assert vocabulary.terms(TargetType)[school.pk].name == school.name


def test_the_filter_s_selects_keep_what_was_chosen_and_offer_every_term(client, researcher, db):
    weapon = Weapon.objects.order_by("name").last()
    client.force_login(researcher)
    html = client.get(LIST, {"weapon": weapon.pk, "sort": "code"}).content.decode()
    assert f'<option value="{weapon.pk}" selected>{weapon.name}</option>' in html
    assert '<option value="code" selected>code</option>' in html
    assert '<option value="-date">newest first</option>' in html
    for term in AttackType.objects.all():
        assert f'<option value="{term.pk}">{term.name}</option>' in html
    assert html.count('<select name="weapon" id="id_weapon">') == 1


def test_a_transaction_that_changed_a_vocabulary_reads_it_and_holds_nothing(db):
    """Its reads may be rolled back: a term added and undone is never offered."""
    from django.db import transaction

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        AttackType.objects.create(name="Sample term undone")
        assert "Sample term undone" in {t.name for t in vocabulary.terms(AttackType).values()}
        raise Undo
    assert "Sample term undone" not in {t.name for t in vocabulary.terms(AttackType).values()}
    generation = cache.get(vocabulary._generation_key(AttackType))
    held = cache.get(f"vocabulary:tracker.attacktype:{generation}") or []
    assert "Sample term undone" not in {row[1] for row in held}
