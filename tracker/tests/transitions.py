"""Taking review steps in the workflow's tests (``tracker.workflow``): ``submitted``
submits a record and hands it back; ``refused`` checks that a step is refused and
changes nothing, neither the record's state nor the review events."""

from __future__ import annotations

import pytest

from tracker.models import ReviewEvent
from tracker.workflow import Action, TransitionError, transition


def submitted(record, by):
    transition(record, Action.SUBMIT, by=by)
    return record


def refused(record, action, by, comment="", match=""):
    before = type(record).objects.get(pk=record.pk).status
    events = ReviewEvent.objects.count()
    with pytest.raises(TransitionError, match=match):
        transition(record, action, by=by, comment=comment)
    assert type(record).objects.get(pk=record.pk).status == before
    assert ReviewEvent.objects.count() == events
