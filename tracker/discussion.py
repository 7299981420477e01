"""Assignees and comments on incidents and evidence items (``tracker.models.discussion``).

Every face calls these functions. Whoever may see a record may read and write its
thread; a comment's ``@username`` mentions notify those named, if they may see the
record (``evidence.visibility.may_see``), by a mail that carries no word of the comment
(``tracker.notifications.mentioned``). Only someone who may see a record can be
assigned to it. Neither a comment nor an assignment is an edit of the record.
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, Q, QuerySet

from tracker.models import Assignment, Comment

MENTION = re.compile(r"(?<![\w@.])@([\w.+-]{1,150})")
EMPTY = "Write something to comment."
TOO_LONG = f"A comment holds at most {Comment.MAX_LENGTH} characters."
NO_SUCH_USER = "No such member of the team."


def _where(record: Model) -> dict:
    return {"content_type": ContentType.objects.get_for_model(record), "object_id": record.pk}


def thread(record: Model) -> QuerySet[Comment]:
    """The record's comments, oldest first, with their authors."""
    return Comment.objects.filter(**_where(record)).select_related("author")


def assignments(record: Model) -> QuerySet[Assignment]:
    """Who is assigned to the record, by whom and when (the review timeline's lines)."""
    return Assignment.objects.filter(**_where(record)).select_related("user", "assigned_by")


def assignees(record: Model) -> list:
    return [row.user for row in assignments(record).order_by("user__username")]


def team_for(record: Model) -> list:
    """Active staff accounts who may see ``record``: who may be assigned or mentioned."""
    from evidence.visibility import is_hidden_from_some, may_see

    members = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
    if not is_hidden_from_some(record):
        return list(members)
    return [m for m in members if may_see(m, record)]


def comment(record: Model, *, by, body: str) -> Comment:
    """Add ``by``'s comment to ``record``'s thread; mentioned people hear of it after
    the commit. Raises ValidationError for an empty or over-long comment."""
    from evidence.visibility import may_see
    from tracker import notifications

    text = (body or "").strip()
    if not text:
        raise ValidationError(EMPTY)
    if len(text) > Comment.MAX_LENGTH:
        raise ValidationError(TOO_LONG)
    names = set(MENTION.findall(text))
    named = get_user_model().objects.filter(username__in=names, is_active=True, is_staff=True)
    people = [user for user in named if may_see(user, record)]
    with transaction.atomic():
        made = Comment.objects.create(author=by, body=text, **_where(record))
        made.mentions.set(people)
        transaction.on_commit(lambda: notifications.mentioned(record, made, people))
    return made


def assign(record: Model, user_id: int | None, *, by) -> Assignment:
    """Assign the team member ``user_id`` to ``record`` (again: nothing changes)."""
    from evidence.visibility import may_see

    team = get_user_model().objects.filter(is_active=True, is_staff=True)
    user = team.filter(pk=user_id).first() if user_id is not None else None
    if user is None or not may_see(user, record):  # one answer: no one learns who exists
        raise ValidationError(NO_SUCH_USER)
    found, _ = Assignment.objects.get_or_create(
        **_where(record), user=user, defaults={"assigned_by": by}
    )
    return found


def unassign(record: Model, user_id: int | None, *, by) -> None:
    if user_id is not None:
        Assignment.objects.filter(**_where(record), user_id=user_id).delete()


def assigned_to(user, model: type[Model]) -> Q:
    """``Q`` for the records of ``model`` assigned to ``user``."""
    ids = Assignment.objects.filter(
        user=user, content_type=ContentType.objects.get_for_model(model)
    ).values("object_id")
    return Q(pk__in=ids)
