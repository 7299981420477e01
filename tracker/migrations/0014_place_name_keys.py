"""Search keys for places (tracker.responsibility.names.keys_of), filled for the places
already recorded; and the loose keys of officials, aliases and units filled again, since
the loose key now also drops apostrophes and folds a final "ah"/"eh" to "a"."""

from django.db import migrations, models

from tracker.responsibility.names import PLACE_KEY_FIELDS, keys_field, loose_key, place_keys

BATCH = 500


def fill(apps, schema_editor) -> None:
    db = schema_editor.connection.alias
    Place = apps.get_model("tracker", "Place")
    named = ("name", "alternative_names", "district", "governorate")
    places = list(Place.objects.using(db).only("pk", *named))
    for place in places:
        keys = place_keys(**{field: getattr(place, field) for field in named})
        for field, value in keys.items():
            setattr(place, field, value)
    Place.objects.using(db).bulk_update(places, list(PLACE_KEY_FIELDS), batch_size=BATCH)
    for model_name in ("Official", "OfficialAlias"):
        model = apps.get_model("tracker", model_name)
        rows = list(model.objects.using(db).only("pk", "name"))
        for row in rows:
            row.loose_key = loose_key(row.name)
        model.objects.using(db).bulk_update(rows, ["loose_key"], batch_size=BATCH)
    Unit = apps.get_model("tracker", "Unit")
    units = list(Unit.objects.using(db).only("pk", "name", "aliases"))
    for unit in units:
        names = [unit.name, *unit.aliases.splitlines()]
        unit.loose_keys = keys_field(loose_key(n) for n in names if n.strip())
    Unit.objects.using(db).bulk_update(units, ["loose_keys"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0013_discussion"),
    ]

    operations = [
        migrations.AddField(
            model_name="place",
            name="area_keys",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="place",
            name="name_keys",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="place",
            name="other_keys",
            field=models.TextField(blank=True, editable=False),
        ),
        # Going back drops the place keys and leaves the other loose keys as refilled: the
        # older code folds names with an apostrophe or a final "ah"/"eh" differently, so
        # its loose search may miss those names, as it missed their other spellings.
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
