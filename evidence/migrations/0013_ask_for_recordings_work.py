"""Video and audio items stored before the tracker read them get the work intake now asks
for: their claims, poster, keyframes or waveform (a ``derivatives`` job) and their
playable copy (a ``playable`` job). The jobs are queued here; a worker's clock hands them
to the queue (``tracker.jobs.tick``)."""

from django.conf import settings
from django.db import migrations
from django.db.models import Q

KINDS = ("derivatives", "playable")


def ask(apps, schema_editor):
    EvidenceItem = apps.get_model("evidence", "EvidenceItem")
    Job = apps.get_model("tracker", "Job")
    recordings = EvidenceItem.objects.filter(
        Q(media_type__startswith="video/") | Q(media_type__startswith="audio/")
    ).exclude(original_path="")
    attempts = getattr(settings, "TRACKER_JOB_ATTEMPTS", 3)
    for code in recordings.values_list("code", flat=True).iterator():
        for kind in KINDS:
            key = f"{kind}:{code}"
            if not Job.objects.filter(key=key, state__in=("queued", "running")).exists():
                Job.objects.create(kind=kind, target=code, key=key, max_attempts=attempts)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0012_video_and_audio"),
        ("tracker", "0018_video_and_audio"),
    ]

    operations = [migrations.RunPython(ask, migrations.RunPython.noop)]
