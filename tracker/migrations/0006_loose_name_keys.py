"""Loose name keys (tracker.responsibility.names.loose_key) beside the strict search keys, filled for
the officials, aliases and units already recorded."""

from django.db import migrations, models

from tracker.responsibility.names import keys_field, loose_key


def fill(apps, schema_editor):
    db = schema_editor.connection.alias
    for model_name in ("Official", "OfficialAlias"):
        model = apps.get_model("tracker", model_name)
        rows = list(model.objects.using(db).only("pk", "name"))
        for row in rows:
            row.loose_key = loose_key(row.name)
        model.objects.using(db).bulk_update(rows, ["loose_key"], batch_size=500)
    Unit = apps.get_model("tracker", "Unit")
    units = list(Unit.objects.using(db).only("pk", "name", "aliases"))
    for unit in units:
        names = [unit.name, *unit.aliases.splitlines()]
        unit.loose_keys = keys_field(loose_key(n) for n in names if n.strip())
    Unit.objects.using(db).bulk_update(units, ["loose_keys"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0005_review_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalofficial",
            name="loose_key",
            field=models.CharField(blank=True, editable=False, max_length=400),
        ),
        migrations.AddField(
            model_name="official",
            name="loose_key",
            field=models.CharField(blank=True, editable=False, max_length=400),
        ),
        migrations.AddField(
            model_name="officialalias",
            name="loose_key",
            field=models.CharField(blank=True, editable=False, max_length=400),
        ),
        migrations.AddField(
            model_name="unit",
            name="loose_keys",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
