"""Attributions are reviewed like incidents: Reviewers review them, Editors also
publish and reopen them (an incident is verified only once its attributions are)."""

from django.db import migrations

from tracker.migrations import _grants

GRANTS = {
    "Reviewer": ["review_attribution"],
    "Editor": ["review_attribution", "publish_attribution"],
}


grant = _grants.granter(GRANTS)
revoke = _grants.revoker(GRANTS)


class Migration(migrations.Migration):
    dependencies = [("tracker", "0011_attribution_review_history_of_relations")]

    operations = [migrations.RunPython(grant, revoke)]
