"""Assignees and comments (tracker.discussion), through the admin's pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from tracker import discussion, workflow
from tracker.display import time_with_zone
from tracker.models import Assignment, Comment, Incident, ReviewEvent, Sensitivity
from tracker.tests import factories as f
from tracker.workflow import Action, transition

pytestmark = pytest.mark.django_db


def talk_url(record):
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_discussion", args=[record.pk])


def change_url(record):
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


@pytest.fixture
def incident(researcher):
    return f.IncidentFactory(created_by=researcher, title="Strike on the market")


def test_a_comment_shows_in_the_thread_escaped(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(
        talk_url(incident), {"action": "comment", "body": "Check <b>EV-000003</b>"}, follow=True
    )
    assert answer.redirect_chain[-1][0] == change_url(incident) + "#discussion"
    page = answer.content.decode()
    assert "Check &lt;b&gt;EV-000003&lt;/b&gt;" in page and "Comment added." in page


@pytest.mark.parametrize("body", ["", "   ", "x" * (Comment.MAX_LENGTH + 1)])
def test_an_empty_or_overlong_comment_is_refused(client, researcher, incident, body):
    client.force_login(researcher)
    answer = client.post(talk_url(incident), {"action": "comment", "body": body}, follow=True)
    assert answer.status_code == 200 and not Comment.objects.exists()
    assert discussion.EMPTY in answer.content.decode() or "at most" in answer.content.decode()


def test_a_mention_mails_a_link_and_not_the_words(
    client, researcher, reviewer, incident, mailoutbox, django_capture_on_commit_callbacks
):
    reviewer.email = "reviewer@example.org"
    reviewer.save()
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            talk_url(incident),
            {"action": "comment", "body": "@reviewer the witness said SECRET things"},
        )
    [mail] = mailoutbox
    assert mail.to == ["reviewer@example.org"] and incident.code in mail.subject
    assert "SECRET" not in mail.body + mail.subject and change_url(incident) in mail.body
    assert list(Comment.objects.get().mentions.all()) == [reviewer]


def test_a_mention_of_someone_who_may_not_see_the_record_is_not_sent(
    researcher, reviewer, mailoutbox, django_capture_on_commit_callbacks
):
    holder = f.UserFactory(username="holder", email="holder@example.org", is_staff=True)
    holder.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_restricted_incident", "view_incident"])
    )
    reviewer.email = "reviewer@example.org"
    reviewer.save()
    secret = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED, title="SECRET clinic")
    with django_capture_on_commit_callbacks(execute=True):
        discussion.comment(secret, by=holder, body="@reviewer @holder @nobody look")
    assert [m.to for m in mailoutbox] == []  # the holder wrote it; the reviewer may not see it
    made = Comment.objects.get()
    assert list(made.mentions.all()) == [holder]


def test_a_hidden_record_has_no_discussion_for_others(client, researcher):
    secret = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    client.force_login(researcher)
    answer = client.post(talk_url(secret), {"action": "comment", "body": "hello"})
    assert answer.status_code == 404 and not Comment.objects.exists()


def test_assigning_and_the_assigned_to_me_filter(client, researcher, reviewer, incident):
    other = f.IncidentFactory()
    client.force_login(researcher)
    client.post(talk_url(incident), {"action": "assign", "user": reviewer.pk})
    assert [a.user for a in Assignment.objects.all()] == [reviewer]
    # In the record's review timeline: who assigned whom, when.
    page = client.get(change_url(incident)).content.decode()
    timeline = page[page.index('class="review-timeline"') :]
    timeline = timeline[: timeline.index("</ol>")]
    at = time_with_zone(Assignment.objects.get().assigned_at)
    assert f"<time>{at}</time> <strong>researcher</strong> assigned <strong>reviewer</strong>" in (
        timeline
    )
    client.force_login(reviewer)
    listing = client.get(reverse("admin:tracker_incident_changelist"), {"assigned": "me"})
    assert [i.pk for i in listing.context["cl"].result_list] == [incident.pk]
    assert other.code not in listing.content.decode()
    mine = client.get(reverse("my_work")).content.decode()
    assert "assigned to you" in mine and incident.code in mine


@pytest.mark.parametrize("user", ["x", "-1", "9" * 30, ""])
def test_assigning_nobody_is_refused(client, researcher, incident, user):
    client.force_login(researcher)
    answer = client.post(talk_url(incident), {"action": "assign", "user": user}, follow=True)
    assert discussion.NO_SUCH_USER in answer.content.decode()
    assert not Assignment.objects.exists()


def test_nobody_is_assigned_to_a_record_they_may_not_see(researcher, editor):
    secret = f.IncidentFactory(sensitivity=Sensitivity.RESTRICTED)
    with pytest.raises(ValidationError, match=discussion.NO_SUCH_USER):
        discussion.assign(secret, researcher.pk, by=editor)
    assert researcher not in discussion.team_for(secret)


def test_unassigning(client, researcher, reviewer, incident):
    discussion.assign(incident, reviewer.pk, by=researcher)
    client.force_login(researcher)
    client.post(talk_url(incident), {"action": "unassign", "user": reviewer.pk})
    assert not Assignment.objects.exists()


def test_an_unknown_action_is_refused(client, researcher, incident):
    client.force_login(researcher)
    answer = client.post(talk_url(incident), {"action": "delete"}, follow=True)
    assert "Unknown action" in answer.content.decode()


def test_commenting_is_not_an_edit_for_four_eyes(researcher, reviewer, incident):
    transition(incident, Action.SUBMIT, by=researcher)
    discussion.comment(incident, by=reviewer, body="Looks right.")
    discussion.assign(incident, reviewer.pk, by=reviewer)
    incident = Incident.objects.get(pk=incident.pk)
    assert workflow.refusal(incident, Action.VERIFY, reviewer) is None


def test_items_have_a_discussion_too(client, researcher):
    item = f.EvidenceItemFactory(created_by=researcher)
    client.force_login(researcher)
    client.post(talk_url(item), {"action": "comment", "body": "Is this the same crater?"})
    page = client.get(change_url(item)).content.decode()
    assert "Is this the same crater?" in page and 'id="discussion"' in page


def test_comments_are_in_the_records_review_timeline(client, researcher, incident):
    transition(incident, Action.SUBMIT, by=researcher)
    discussion.comment(incident, by=researcher, body="Second photo <b>added</b>.")
    client.force_login(researcher)
    page = client.get(change_url(incident)).content.decode()
    timeline = page[page.index('class="review-timeline"') :]
    timeline = timeline[: timeline.index("</ol>")]
    assert "submit for review" in timeline
    assert "commented: “Second photo &lt;b&gt;added&lt;/b&gt;.”" in timeline
    assert timeline.index("submit for review") < timeline.index("commented")
    # Each time of the timeline and of the thread names its zone, as every time shown does.
    event = ReviewEvent.objects.get()
    made = Comment.objects.get()
    assert f"<time>{time_with_zone(event.at)}</time>" in timeline
    assert f"<time>{time_with_zone(made.created_at)}</time>" in timeline
    thread = page[page.index('id="discussion"') :]
    assert f">{time_with_zone(made.created_at)}</time>" in thread
    assert "(UTC+" in time_with_zone(made.created_at)


# --- The rules, one by one ----------------------------------------------------------------------


def test_a_comment_of_the_longest_length_is_taken(researcher, incident):
    made = discussion.comment(incident, by=researcher, body="x" * Comment.MAX_LENGTH)
    assert len(made.body) == Comment.MAX_LENGTH


def test_only_active_staff_are_mentioned_or_assigned(researcher, reviewer, incident):
    gone = f.UserFactory(username="gone", is_staff=True, is_active=False)
    outside = f.UserFactory(username="outside", is_staff=False)
    made = discussion.comment(incident, by=researcher, body="@gone @outside @reviewer")
    assert list(made.mentions.all()) == [reviewer]
    for user in (gone, outside):
        with pytest.raises(ValidationError, match=discussion.NO_SUCH_USER):
            discussion.assign(incident, user.pk, by=researcher)
    assert discussion.assign(incident, reviewer.pk, by=researcher).assigned_by == researcher


def test_unassigning_removes_that_person_from_that_record_only(researcher, reviewer, incident):
    other = f.IncidentFactory()
    for record, user in ((incident, reviewer), (incident, researcher), (other, reviewer)):
        discussion.assign(record, user.pk, by=researcher)
    discussion.unassign(incident, reviewer.pk, by=researcher)
    left = {(a.object_id, a.user_id) for a in Assignment.objects.all()}
    assert left == {(incident.pk, researcher.pk), (other.pk, reviewer.pk)}


def test_assigned_to_is_that_persons_records_of_that_kind(researcher, reviewer, incident):
    from evidence.models import EvidenceItem

    item = f.EvidenceItemFactory()
    discussion.assign(incident, researcher.pk, by=reviewer)
    discussion.assign(item, reviewer.pk, by=reviewer)
    mine = Incident.objects.filter(discussion.assigned_to(researcher, Incident))
    assert list(mine) == [incident]
    assert not Incident.objects.filter(discussion.assigned_to(reviewer, Incident)).exists()
    assert list(EvidenceItem.objects.filter(discussion.assigned_to(reviewer, EvidenceItem))) == [
        item
    ]


def test_the_team_is_its_active_staff_by_name(researcher, reviewer, editor, incident):
    f.UserFactory(username="aaa-gone", is_staff=True, is_active=False)
    f.UserFactory(username="aaa-outside", is_staff=False)
    team = [u.username for u in discussion.team_for(incident)]
    assert team == sorted(team) and {"researcher", "reviewer", "editor"} <= set(team)
    assert "aaa-gone" not in team and "aaa-outside" not in team


def test_a_thread_and_its_assignees_are_read_in_one_query_each(
    researcher, reviewer, incident, django_assert_num_queries
):
    for body in ("First.", "Second."):
        discussion.comment(incident, by=researcher, body=body)
    for user in (researcher, reviewer):
        discussion.assign(incident, user.pk, by=researcher)
    with django_assert_num_queries(1):
        assert [c.author.username for c in discussion.thread(incident)] == ["researcher"] * 2
    with django_assert_num_queries(1):
        assert [u.username for u in discussion.assignees(incident)] == ["researcher", "reviewer"]


def test_a_records_assignments_are_read_with_who_assigned_them_in_one_query(
    researcher, reviewer, editor, incident, django_assert_num_queries
):
    discussion.assign(incident, reviewer.pk, by=editor)
    discussion.assign(incident, researcher.pk, by=reviewer)
    with django_assert_num_queries(1):
        pairs = {
            (a.user.username, a.assigned_by.username) for a in discussion.assignments(incident)
        }
    assert pairs == {("reviewer", "editor"), ("researcher", "reviewer")}
