"""Review rights for the three roles: Reviewers review, Editors review and publish.

Researchers get neither; evidence.view_protected_identity stays with no group.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Reviewer": ["review_incident", "review_evidenceitem"],
    "Editor": [
        "review_incident",
        "review_evidenceitem",
        "publish_incident",
        "publish_evidenceitem",
    ],
}


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=db)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.using(db).get_or_create(name=name)
        perms = Permission.objects.using(db).filter(
            content_type__app_label__in=["tracker", "evidence"], codename__in=codenames
        )
        if perms.count() != len(codenames):
            raise RuntimeError(f"Missing review permissions for {name}")
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*group.permissions.filter(codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0004_review_permissions"),
        ("evidence", "0005_review_permissions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
