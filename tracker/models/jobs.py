"""Background work: one row per piece of slow work, whatever queue carries it.

The row is the truth about the work (``tracker.jobs``): the task backend (the database
queue or RQ on Redis) only carries "run job N" to a worker. A job names its target by
code (an item's or an incident's), never by title, so that the jobs page shows no
protected identity.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Job(models.Model):
    class Kind(models.TextChoices):
        DERIVATIVES = "derivatives", "thumbnails"
        PLAYABLE = "playable", "playable copy"
        CAPTURE = "capture", "capture of a link"
        BUNDLE = "bundle", "court bundle"
        FLIGHT_LOG = "flight_log", "flight-log import"
        FIXITY = "fixity", "fixity check"
        ANCHOR = "anchor", "custody anchor"
        GRADE = "grade", "proposed grade"

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "finished"
        FAILED = "failed", "failed"

    UNFINISHED = (State.QUEUED, State.RUNNING)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # An item's or incident's code ("" for work on the whole collection).
    target = models.CharField(max_length=200, blank=True)
    # One unfinished job per key: asking again for the same work returns that job.
    key = models.CharField(max_length=250)
    arguments = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    # Not before (a retry waits); the clock hands a due job to the queue.
    run_after = models.DateTimeField(null=True, blank=True)
    # When the job was last handed to the task backend, and the task's id there.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # The run that holds the job, and until when: a worker that dies (SIGKILL, power)
    # stops renewing the lease, and the clock queues the job again.
    run_token = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    done_count = models.PositiveIntegerField(default=0)
    total_count = models.PositiveIntegerField(default=0)
    # What the job did (finished), or why it failed (the last error).
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # A file the job made for its requester (a court bundle), a storage key, and when
    # it is deleted.
    output = models.CharField(max_length=200, blank=True)
    output_size = models.PositiveBigIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # view_job: one's own jobs (the roles); manage_job: every job, and trying a
        # failed one again (Editors).
        permissions = [("manage_job", "Can see every job and try a failed one again")]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(state__in=["queued", "running"]),
                name="job_one_unfinished_per_key",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "run_after"], name="job_state_due"),
            models.Index(fields=["kind", "target"], name="job_kind_target"),
            models.Index(fields=["kind", "-created_at"], name="job_kind_created"),
        ]

    def __str__(self) -> str:
        what = f"{self.get_kind_display()} {self.target}".strip()
        return f"Job {self.pk}: {what}"


# The kinds by a name of their own (the API description names its enums by it).
JobKind = Job.Kind
