"""Default vocabularies, code counters and the three team roles.

Editors can rename, add or retire terms afterwards; this only seeds a new
instance. No group receives evidence.view_protected_identity: an administrator
grants it to named people.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ATTACK_TYPES = [
    ("Airstrike", "Bombs or missiles delivered by aircraft."),
    ("Helicopter strike", "Munitions dropped or fired from helicopters, incl. barrel bombs."),
    ("Artillery or rocket shelling", "Ground-launched shells or rockets."),
    ("Ballistic missile", "Surface-to-surface missile."),
    ("Double-tap strike", "A second strike on the same site after rescuers arrive."),
    ("Drone strike", "Munitions delivered by an uncrewed aircraft."),
]
WEAPONS = [
    ("Barrel bomb", "helicopter", "Improvised unguided bomb dropped from helicopters."),
    ("Unguided air-dropped bomb", "fixed_wing", "General-purpose bomb (e.g. OFAB, FAB series)."),
    ("Guided bomb", "fixed_wing", "Laser or satellite guided (e.g. KAB series)."),
    ("Air-launched missile", "fixed_wing", "Missile fired from a fixed-wing aircraft."),
    ("Cluster munition", "aircraft", "Air-dropped or ground-launched; record submunition type."),
    ("Incendiary weapon", "aircraft", "e.g. ZAB or thermite submunitions."),
    ("Artillery shell", "ground", "Tube artillery."),
    ("Unguided rocket", "ground", "Multiple-launch rocket system (e.g. Grad)."),
    ("Unknown", "unknown", "Not identified."),
]
TARGET_TYPES = [
    ("Hospital or clinic", "#c0392b"),
    ("School", "#2e86c1"),
    ("Market", "#d68910"),
    ("Residential building", "#7d3c98"),
    ("Mosque", "#117a65"),
    ("Bakery", "#a04000"),
    ("Camp for displaced people", "#2874a6"),
    ("Civil-defence centre", "#b7950b"),
    ("Water or power facility", "#566573"),
    ("Other civilian object", "#626567"),
]
SOURCE_TYPES = [
    ("Witness", "A person interviewed by the team."),
    ("Medical staff", "Doctors, nurses, hospital administrators."),
    ("Civil defence", "Rescue workers' reports and footage."),
    ("Local journalist or activist", "Media posted by people on the ground."),
    ("Social media", "Open-source material found online."),
    ("Satellite provider", "Commercial or public imagery."),
    ("Flight spotter network", "Aircraft observations from spotter posts."),
    ("Official statement", "Government, military or UN statement."),
]

VIEW_ALL = [
    "view_incident",
    "view_incidentrelation",
    "view_place",
    "view_attacktype",
    "view_weapon",
    "view_targettype",
    "view_sourcetype",
    "view_force",
    "view_unit",
    "view_official",
    "view_officialalias",
    "view_position",
    "view_attribution",
    "view_reviewevent",
    "view_evidenceitem",
    "view_evidencelink",
    "view_derivative",
    "view_photometadata",
    "view_satelliteimage",
    "view_flightlog",
    "view_flightobservation",
    "view_witness",
    "view_testimony",
    "view_custodyevent",
]
RESEARCH = [
    "add_incident",
    "change_incident",
    "add_incidentrelation",
    "change_incidentrelation",
    "delete_incidentrelation",
    "add_place",
    "change_place",
    "add_attribution",
    "change_attribution",
    "add_evidenceitem",
    "change_evidenceitem",
    "add_evidencelink",
    "change_evidencelink",
    "delete_evidencelink",
    "add_photometadata",
    "change_photometadata",
    "add_satelliteimage",
    "change_satelliteimage",
    "add_flightlog",
    "change_flightlog",
    "add_flightobservation",
    "change_flightobservation",
    "add_witness",
    "change_witness",
    "add_testimony",
    "change_testimony",
]
EDITING = [
    f"{verb}_{model}"
    for model in (
        "attacktype",
        "weapon",
        "targettype",
        "sourcetype",
        "force",
        "unit",
        "official",
        "officialalias",
        "position",
        "place",
    )
    for verb in ("add", "change", "delete")
] + ["delete_attribution"]

ROLES = {
    "Researcher": VIEW_ALL + RESEARCH,
    "Reviewer": VIEW_ALL + RESEARCH,
    "Editor": VIEW_ALL + RESEARCH + EDITING,
}


def seed(apps, schema_editor):
    db = schema_editor.connection.alias
    for name, description in ATTACK_TYPES:
        apps.get_model("tracker", "AttackType").objects.using(db).get_or_create(
            name=name, defaults={"description": description}
        )
    for name, platform, description in WEAPONS:
        apps.get_model("tracker", "Weapon").objects.using(db).get_or_create(
            name=name, defaults={"platform": platform, "description": description}
        )
    for name, colour in TARGET_TYPES:
        apps.get_model("tracker", "TargetType").objects.using(db).get_or_create(
            name=name, defaults={"colour": colour}
        )
    for name, description in SOURCE_TYPES:
        apps.get_model("tracker", "SourceType").objects.using(db).get_or_create(
            name=name, defaults={"description": description}
        )
    for prefix in ("INC", "EV"):
        apps.get_model("tracker", "CodeCounter").objects.using(db).get_or_create(prefix=prefix)

    # Permissions are normally created after all migrations; create them now.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=db)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in ROLES.items():
        group, _ = Group.objects.using(db).get_or_create(name=group_name)
        perms = Permission.objects.using(db).filter(
            content_type__app_label__in=["tracker", "evidence"], codename__in=codenames
        )
        missing = set(codenames) - set(perms.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Unknown permissions for {group_name}: {sorted(missing)}")
        group.permissions.add(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0001_initial"),
        ("evidence", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
