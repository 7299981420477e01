"""Granting permissions to the role groups inside a migration (0005, 0012)."""

from django.contrib.auth.management import create_permissions


def granter(grants: dict[str, list[str]]):
    def grant(apps, schema_editor):
        db = schema_editor.connection.alias
        for app_config in apps.get_app_configs():
            models_module = getattr(app_config, "models_module", None)
            app_config.models_module = True
            create_permissions(app_config, verbosity=0, using=db)
            app_config.models_module = models_module
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        for name, codenames in grants.items():
            group, _ = Group.objects.using(db).get_or_create(name=name)
            perms = Permission.objects.using(db).filter(
                content_type__app_label__in=["tracker", "evidence"], codename__in=codenames
            )
            if perms.count() != len(codenames):
                raise RuntimeError(f"Missing permissions for {name}: {codenames}")
            group.permissions.add(*perms)

    return grant


def revoker(grants: dict[str, list[str]]):
    def revoke(apps, schema_editor):
        Group = apps.get_model("auth", "Group")
        for name, codenames in grants.items():
            for group in Group.objects.filter(name=name):
                group.permissions.remove(*group.permissions.filter(codename__in=codenames))

    return revoke
