"""Review rights for the three roles: Reviewers review, Editors review and publish.

Researchers get neither; evidence.view_protected_identity stays with no group.
"""

from django.db import migrations

from tracker.migrations import _grants

GRANTS = {
    "Reviewer": ["review_incident", "review_evidenceitem"],
    "Editor": [
        "review_incident",
        "review_evidenceitem",
        "publish_incident",
        "publish_evidenceitem",
    ],
}


grant = _grants.granter(GRANTS)
revoke = _grants.revoker(GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0004_review_permissions"),
        ("evidence", "0005_review_permissions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
