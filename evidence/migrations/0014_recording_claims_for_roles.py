"""Every role sees what a video's or audio file's tags claim, as it sees a photo's EXIF
(``view_photometadata``, tracker 0002); nobody adds or changes them (intake does)."""

from django.db import migrations

from tracker.migrations import _grants

GRANTS = {
    role: ["view_videometadata", "view_audiometadata"]
    for role in ("Researcher", "Reviewer", "Editor")
}


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0013_ask_for_recordings_work"),
        ("tracker", "0018_video_and_audio"),
    ]

    operations = [migrations.RunPython(_grants.granter(GRANTS), _grants.revoker(GRANTS))]
