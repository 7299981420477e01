"""Who works on a record (assignees) and what the team says about it (comments), for
incidents and evidence items. Neither is an edit of the record: assigning someone or
commenting does not cost a reviewer their four eyes (``tracker.workflow``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Assignment(models.Model):
    content_type = models.ForeignKey(ContentType, models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", null=True
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "user"], name="assignment_once_per_user"
            )
        ]
        indexes = [models.Index(fields=["user", "content_type"], name="assignment_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} on {self.content_type.model} {self.object_id}"


class Comment(models.Model):
    MAX_LENGTH = 5000

    content_type = models.ForeignKey(ContentType, models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    body = models.TextField(max_length=MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "created_at"], name="comment_thread_idx"
            )
        ]

    def __str__(self) -> str:
        return f"Comment by {self.author} at {self.created_at:%Y-%m-%d %H:%M}"
