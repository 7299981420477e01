"""Four eyes and what a verification rests on (issue 14, E, H and I).

A reviewer who changed an incident's evidence links, related incidents, attributions
or their supporting evidence since it was submitted, from whatever page, is no second
pair of eyes for it. An incident is verified or published only once the evidence and
attributions it relies on are. Nobody verifies an item whose files they may not open.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from evidence.models import EvidenceLink
from tracker.models import IncidentRelation, ReviewStatus
from tracker.tests import factories as f
from tracker.workflow import Action, TransitionError, blocked_actions, refusal, transition

S = ReviewStatus
pytestmark = pytest.mark.django_db


# --- Helpers -------------------------------------------------------------------------------


class _FormReader(HTMLParser):
    """What a browser would post from the form with id ``form_id``, as it was rendered."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.fields.append((self.select, a.get("value", "")))
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), []

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            text = "".join(self.text)
            self.fields.append((self.textarea, text[1:] if text.startswith("\n") else text))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.text.append(data)


def change_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def page_form(client, record) -> dict[str, list[str]]:
    """The change form of ``record`` as the admin renders it to the logged-in user."""
    page = client.get(change_url(record))
    assert page.status_code == 200
    reader = _FormReader(f"{record._meta.model_name}_form")
    reader.feed(page.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in reader.fields:
        data.setdefault(name, []).append(value)
    assert data, "the change form was not found"
    return data


def inline_row(data: dict, field: str, value) -> str:
    """The prefix ("links-0") of the inline row whose ``field`` posts ``value``."""
    for name, values in data.items():
        if name.endswith(f"-{field}") and values == [str(value)]:
            return name[: -len(field) - 1]
    raise AssertionError(f"no inline row with {field}={value}")


def post_form(client, record, data) -> None:
    response = client.post(change_url(record), data)
    errors = response.context and [
        response.context["adminform"].form.errors,
        [fs.formset.errors for fs in response.context["inline_admin_formsets"]],
    ]
    assert response.status_code == 302, errors


def submitted(record, by):
    transition(record, Action.SUBMIT, by=by)
    return record


def verified(record, by, author):
    submitted(record, author)
    transition(record, Action.VERIFY, by=by)
    return record


def refused(record, action, by, comment="") -> str:
    status = type(record).objects.get(pk=record.pk).status
    with pytest.raises(TransitionError) as caught:
        transition(record, action, by=by, comment=comment)
    assert type(record).objects.get(pk=record.pk).status == status
    return str(caught.value)


def panel(client, record) -> str:
    return client.get(change_url(record)).content.decode()


@pytest.fixture
def second_reviewer(reviewer):
    user = f.UserFactory(username="second_reviewer")
    user.groups.add(Group.objects.get(name="Reviewer"))
    return user


@pytest.fixture
def cleared_reviewer(reviewer):
    """A reviewer to whom an administrator granted the protected-identity permission."""
    user = f.UserFactory(username="cleared_reviewer")
    user.groups.add(Group.objects.get(name="Reviewer"))
    user.user_permissions.add(Permission.objects.get(codename="view_protected_identity"))
    return user


@pytest.fixture
def incident(researcher):
    return f.IncidentFactory(created_by=researcher)


@pytest.fixture
def link(incident, researcher):
    """A relied-on link to an item that is under review, like the incident."""
    item = f.EvidenceItemFactory(created_by=researcher)
    link = f.EvidenceLinkFactory(incident=incident, item=item)
    submitted(item, researcher)
    submitted(incident, researcher)
    return link


# --- E: edits from the items' own pages count as edits of the incident -----------------------


def test_reviewer_who_unticks_relied_on_on_the_items_page_cannot_verify_the_incident(
    client, incident, link, reviewer, second_reviewer
):
    client.force_login(reviewer)
    data = page_form(client, link.item)
    row = inline_row(data, "incident", incident.pk)
    assert data[f"{row}-relied_on"] == ["on"]
    del data[f"{row}-relied_on"]
    post_form(client, link.item, data)

    link.refresh_from_db()
    assert not link.relied_on
    assert link.history.first().history_user == reviewer  # the middleware named the user
    message = refused(incident, Action.VERIFY, reviewer)
    assert message == (
        f"Four eyes: you edited {incident.code} after it was submitted (you changed its "
        f"evidence links: {link.item.code}), so another reviewer must verify it."
    )
    assert "you changed its evidence links" in refused(incident, Action.REJECT, reviewer, "x")
    body = panel(client, incident)
    assert f"Verify is not possible yet: Four eyes: you edited {incident.code}" in body
    assert reverse("admin:tracker_incident_review", args=[incident.pk, "verify"]) not in body
    # Another reviewer, who changed nothing, is a second pair of eyes.
    transition(incident, Action.VERIFY, by=second_reviewer)


def test_reviewer_who_deletes_the_link_on_the_items_page_cannot_verify_the_incident(
    client, incident, link, reviewer
):
    client.force_login(reviewer)
    data = page_form(client, link.item)
    data[f"{inline_row(data, 'incident', incident.pk)}-DELETE"] = ["on"]
    post_form(client, link.item, data)

    assert not EvidenceLink.objects.filter(pk=link.pk).exists()
    assert EvidenceLink.history.filter(id=link.pk, history_type="-").get().history_user == reviewer
    message = refused(incident, Action.VERIFY, reviewer)
    assert f"you changed its evidence links: {link.item.code}" in message


def test_reviewer_who_moves_the_link_to_another_incident_cannot_verify_the_incident(
    client, incident, link, reviewer, researcher
):
    elsewhere = f.IncidentFactory(created_by=researcher)
    client.force_login(reviewer)
    data = page_form(client, link.item)
    data[f"{inline_row(data, 'incident', incident.pk)}-incident"] = [str(elsewhere.pk)]
    post_form(client, link.item, data)

    assert EvidenceLink.objects.get(pk=link.pk).incident == elsewhere
    message = refused(incident, Action.VERIFY, reviewer)
    assert f"you changed its evidence links: {link.item.code}" in message


def test_reviewer_who_removes_a_related_incident_cannot_verify(
    incident, researcher, reviewer, second_reviewer
):
    other = f.IncidentFactory(created_by=researcher)
    relation = IncidentRelation.objects.create(
        from_incident=incident, to_incident=other, kind=IncidentRelation.Kind.DUPLICATE
    )
    submitted(incident, researcher)
    relation._history_user = reviewer  # as the admin's middleware does
    relation.delete()

    message = refused(incident, Action.VERIFY, reviewer)
    assert f"you changed its related incidents: {other.code}" in message
    assert blocked_actions(incident, reviewer)[0] == ("verify", message)
    transition(incident, Action.VERIFY, by=second_reviewer)


def test_reviewer_who_relates_another_incident_to_it_cannot_verify(
    incident, researcher, reviewer, second_reviewer
):
    """The relation is made from the other incident's side (its page, which the reviewer
    may edit while it is submitted): it still belongs to this incident too."""
    other = f.IncidentFactory(created_by=researcher)
    submitted(incident, researcher)
    relation = IncidentRelation(
        from_incident=other, to_incident=incident, kind=IncidentRelation.Kind.SAME_OPERATION
    )
    relation._history_user = reviewer
    relation.save()

    message = refused(incident, Action.VERIFY, reviewer)
    assert f"you changed its related incidents: {other.code}" in message
    transition(incident, Action.VERIFY, by=second_reviewer)


def test_relation_changed_on_the_incidents_own_page_is_named_not_its_fields(
    client, incident, researcher, reviewer
):
    other = f.IncidentFactory(created_by=researcher)
    IncidentRelation.objects.create(
        from_incident=incident, to_incident=other, kind=IncidentRelation.Kind.DUPLICATE
    )
    submitted(incident, researcher)
    client.force_login(reviewer)
    data = page_form(client, incident)
    row = inline_row(data, "to_incident", other.pk)
    data[f"{row}-kind"] = [IncidentRelation.Kind.SAME_OPERATION]
    post_form(client, incident, data)

    message = refused(incident, Action.VERIFY, reviewer)
    assert f"(you changed its related incidents: {other.code})" in message


def test_reviewer_who_changes_an_attributions_evidence_on_its_page_cannot_verify_the_incident(
    client, incident, researcher, reviewer, second_reviewer
):
    first, second = (f.EvidenceItemFactory(created_by=researcher) for _ in range(2))
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    attribution.supporting_evidence.set([first, second])
    submitted(attribution, researcher)
    submitted(incident, researcher)
    client.force_login(reviewer)
    data = page_form(client, attribution)
    data["supporting_evidence"] = [str(first.pk)]
    post_form(client, attribution, data)

    assert list(attribution.supporting_evidence.all()) == [first]
    message = refused(incident, Action.VERIFY, reviewer)
    assert message == (
        f"Four eyes: you edited {incident.code} after it was submitted (you changed the "
        f"supporting evidence of its attributions: {attribution}), so another reviewer "
        "must verify it."
    )
    # Nor the attribution itself; another reviewer verifies both.
    assert "Four eyes: you edited" in refused(attribution, Action.VERIFY, reviewer)
    transition(attribution, Action.VERIFY, by=second_reviewer)
    transition(incident, Action.VERIFY, by=second_reviewer)


def test_reviewer_who_unticks_an_attribution_cannot_verify_the_incident(
    incident, researcher, reviewer
):
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    submitted(incident, researcher)
    attribution.relied_on = False
    attribution._history_user = reviewer
    attribution.save()

    message = refused(incident, Action.VERIFY, reviewer)
    assert f"(you changed its attributions: {attribution})" in message


def test_reviewing_an_attribution_is_not_editing_its_incident(incident, researcher, reviewer):
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    attribution.supporting_evidence.add(f.EvidenceItemFactory(created_by=researcher))
    submitted(incident, researcher)
    verified(attribution, reviewer, researcher)
    transition(incident, Action.VERIFY, by=reviewer)
    assert incident.status == S.VERIFIED


# --- H: an incident is verified and published only once what it relies on is ------------------


@pytest.mark.parametrize("status", [S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED])
def test_incident_is_not_verified_while_a_relied_on_attribution_is_under_way(
    incident, researcher, reviewer, status
):
    attribution = f.AttributionFactory(incident=incident, created_by=researcher, status=status)
    submitted(incident, researcher)
    assert refused(incident, Action.VERIFY, reviewer) == (
        f"{incident.code} relies on attributions not yet verified: {attribution} "
        f"({S(status).label}). Verify them first, or mark them 'not relied on'."
    )
    assert ("verify", refusal(incident, Action.VERIFY, reviewer)) in blocked_actions(
        incident, reviewer
    )


@pytest.mark.parametrize(
    "fields", [{"relied_on": False}, {"status": S.REJECTED}, {"status": S.VERIFIED}]
)
def test_incident_is_verified_when_the_attribution_is_not_relied_on_rejected_or_verified(
    incident, researcher, reviewer, fields
):
    f.AttributionFactory(incident=incident, created_by=researcher, **fields)
    submitted(incident, researcher)
    transition(incident, Action.VERIFY, by=reviewer)
    assert incident.status == S.VERIFIED


def test_incident_is_not_published_once_an_attribution_was_reopened(
    incident, researcher, reviewer, editor
):
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    attribution.supporting_evidence.add(f.EvidenceItemFactory(created_by=researcher))
    verified(attribution, reviewer, researcher)
    verified(incident, reviewer, researcher)
    transition(attribution, Action.REOPEN, by=editor, comment="The unit was misidentified.")

    message = refused(incident, Action.PUBLISH, editor)
    assert message.startswith(f"{incident.code} relies on attributions not yet verified: ")
    assert ("publish", message) in blocked_actions(incident, editor)


def test_incident_is_not_published_once_its_evidence_was_reopened(
    incident, researcher, reviewer, editor
):
    link = f.EvidenceLinkFactory(incident=incident, item__created_by=researcher)
    verified(link.item, reviewer, researcher)
    verified(incident, reviewer, researcher)
    transition(link.item, Action.REOPEN, by=editor, comment="Wrong date on the photo.")

    message = refused(incident, Action.PUBLISH, editor)
    assert message == (
        f"{incident.code} relies on evidence not yet verified: {link.item.code}. "
        "Verify it first, or mark its link 'not relied on'."
    )
    transition(link.item, Action.SUBMIT, by=editor)
    transition(link.item, Action.VERIFY, by=reviewer)
    transition(incident, Action.PUBLISH, by=editor)
    assert incident.status == S.PUBLISHED


# --- I: nobody verifies an item whose files they may not open ---------------------------------


@pytest.fixture
def protected_item(researcher):
    return submitted(f.EvidenceItemFactory(created_by=researcher, is_protected=True), researcher)


def test_reviewer_without_the_permission_cannot_verify_or_reject_a_protected_item(
    client, protected_item, reviewer
):
    message = refused(protected_item, Action.VERIFY, reviewer)
    assert message == (
        f"{protected_item.code} is protected: only a reviewer allowed to see protected "
        "identities may verify it, as its files must be opened to judge it."
    )
    assert "is protected" in refused(protected_item, Action.REJECT, reviewer, comment="no")
    client.force_login(reviewer)
    body = panel(client, protected_item)
    assert f"Verify is not possible yet: {protected_item.code} is protected" in body
    url = reverse("admin:evidence_evidenceitem_review", args=[protected_item.pk, "verify"])
    assert url not in body
    client.post(url, {})  # a crafted post changes nothing either
    protected_item.refresh_from_db()
    assert protected_item.status == S.SUBMITTED


def test_reviewer_with_the_permission_verifies_a_protected_item(protected_item, cleared_reviewer):
    transition(protected_item, Action.VERIFY, by=cleared_reviewer)
    assert protected_item.status == S.VERIFIED


def test_unprotected_item_needs_no_such_permission(researcher, reviewer):
    item = submitted(f.EvidenceItemFactory(created_by=researcher), researcher)
    transition(item, Action.REJECT, by=reviewer, comment="Not the same site.")
    assert item.status == S.REJECTED


# --- Attributions under review, four eyes included ------------------------------------------


def test_attribution_is_reviewed_with_four_eyes(incident, researcher, reviewer, editor):
    attribution = f.AttributionFactory(incident=incident, created_by=reviewer)
    attribution.supporting_evidence.add(f.EvidenceItemFactory(created_by=researcher))
    transition(attribution, Action.SUBMIT, by=reviewer)
    assert refused(attribution, Action.VERIFY, reviewer) == (
        f"Four eyes: you cannot verify {incident.code}'s attribution to {attribution}, "
        "which you created."
    )
    transition(attribution, Action.VERIFY, by=editor)
    assert attribution.status == S.VERIFIED


def test_both_kinds_of_unverified_parts_are_named_at_once(incident, researcher, reviewer):
    link = f.EvidenceLinkFactory(incident=incident, item__created_by=researcher)
    attribution = f.AttributionFactory(incident=incident, created_by=researcher)
    submitted(incident, researcher)
    assert refused(incident, Action.VERIFY, reviewer) == (
        f"{incident.code} relies on evidence not yet verified: {link.item.code}. Verify it "
        f"first, or mark its link 'not relied on'. {incident.code} relies on attributions not "
        f"yet verified: {attribution} (draft). Verify them first, or mark them 'not relied on'."
    )


def test_a_link_made_by_a_service_outside_any_request_counts_for_four_eyes(
    incident, researcher, reviewer
):
    """``ingest --incident`` and flight confirmation run without a request: the link's
    history must still name who made it (``evidence.links.link``)."""
    import io

    from evidence import intake
    from evidence.tests.files import make_jpeg

    submitted(incident, researcher)
    intake.ingest(
        io.BytesIO(make_jpeg()), filename="a.jpg", kind="photo", by=reviewer, incident=incident
    )
    assert EvidenceLink.history.filter(incident_id=incident.pk, history_user=reviewer).exists()
    assert "Four eyes" in refused(incident, Action.VERIFY, reviewer)


def test_reviewer_who_rewrites_a_testimony_on_the_items_page_cannot_verify_the_item(
    client, researcher, reviewer, second_reviewer
):
    """The testimony and satellite details are edited inline on the item's page: such an
    edit is an edit of the item (their history names who made it)."""
    item = f.EvidenceItemFactory(created_by=researcher, kind="testimony")
    f.TestimonyFactory(item=item, summary="ORIGINAL SUMMARY")
    submitted(item, researcher)
    client.force_login(reviewer)
    data = page_form(client, item)
    summary = next(name for name in data if name.endswith("-summary"))
    data[summary] = ["CHANGED BY THE REVIEWER"]
    post_form(client, item, data)

    item.testimony.refresh_from_db()
    assert item.testimony.summary == "CHANGED BY THE REVIEWER"
    message = refused(item, Action.VERIFY, reviewer)
    assert "you changed its testimony" in message
    transition(item, Action.VERIFY, by=second_reviewer)
