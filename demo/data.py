"""The SAMPLE demo case as plain data.

Modelled on published reporting (the team's seed case): an air campaign on
north-west Syria from April 2019 to March 2020 that hit hospitals, schools,
markets and homes. The towns and their coordinates are real (approximate town
centres); everything else -- the incidents' details and figures, forces,
units, officials, witnesses, sources and files -- is invented for the demo and
labelled SAMPLE. No official's name is a real person's.
"""

from __future__ import annotations

from dataclasses import dataclass

LABEL = "SAMPLE"
TITLE_PREFIX = "SAMPLE: "
NAME_SUFFIX = " (SAMPLE)"
TIME_ZONE = "Asia/Damascus"
DISCLAIMER = (
    "SAMPLE record: illustrative data generated for the demo case. The place is real; "
    "the event details, figures, sources and people are invented and are not findings."
)

# --- Vocabulary rows seeded by tracker/migrations/0002 (looked up by name) -------------

AIR = "Airstrike"
HELI = "Helicopter strike"
SHELL = "Artillery or rocket shelling"
DOUBLE = "Double-tap strike"

BARREL = "Barrel bomb"
UNGUIDED = "Unguided air-dropped bomb"
GUIDED = "Guided bomb"
MISSILE = "Air-launched missile"
CLUSTER = "Cluster munition"
INCENDIARY = "Incendiary weapon"
SHELLS = "Artillery shell"
ROCKETS = "Unguided rocket"

HOSPITAL = "Hospital or clinic"
SCHOOL = "School"
MARKET = "Market"
HOMES = "Residential building"
MOSQUE = "Mosque"
BAKERY = "Bakery"
CAMP = "Camp for displaced people"
CIVDEF = "Civil-defence centre"
WATER = "Water or power facility"

SRC_WITNESS = "Witness"
SRC_MEDICAL = "Medical staff"
SRC_CIVDEF = "Civil defence"
SRC_LOCAL = "Local journalist or activist"
SRC_SOCIAL = "Social media"
SRC_SATELLITE = "Satellite provider"
SRC_SPOTTERS = "Flight spotter network"
SRC_OFFICIAL = "Official statement"


# --- Users ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSpec:
    username: str
    group: str  # "" for the superuser
    last_name: str
    superuser: bool = False


USERS = (
    UserSpec("researcher", "Researcher", "Researcher"),
    UserSpec("reviewer", "Reviewer", "Reviewer"),
    UserSpec("editor", "Editor", "Editor"),
    UserSpec("admin", "", "Administrator", superuser=True),
)
ADMIN_URL = "http://127.0.0.1:8000/admin/"


# --- Places (real towns, approximate centres) ---------------------------------------


@dataclass(frozen=True)
class PlaceSpec:
    key: str
    name: str
    other_names: tuple[str, ...]
    governorate: str
    district: str
    lat: str
    lon: str
    elevation_m: int


PLACES = (
    PlaceSpec("idlib", "Idlib", ("إدلب", "Idleb"), "Idlib", "Idlib", "35.930600", "36.633900", 450),
    PlaceSpec(
        "jisr",
        "Jisr al-Shughour",
        ("جسر الشغور", "Jisr ash-Shughur"),
        "Idlib",
        "Jisr al-Shughour",
        "35.812500",
        "36.317200",
        170,
    ),
    PlaceSpec(
        "kansafra",
        "Kansafra",
        ("كنصفرة", "Kansafrah"),
        "Idlib",
        "Ariha",
        "35.618100",
        "36.488300",
        750,
    ),
    PlaceSpec("salqin", "Salqin", ("سلقين",), "Idlib", "Harem", "36.137800", "36.453600", 190),
    PlaceSpec(
        "darkush",
        "Darkush",
        ("دركوش", "Darkoush"),
        "Idlib",
        "Jisr al-Shughour",
        "35.992500",
        "36.392500",
        190,
    ),
    PlaceSpec(
        "maarat-numan",
        "Maarat al-Numan",
        ("معرة النعمان", "Ma'arrat al-Nu'man"),
        "Idlib",
        "Maarat al-Numan",
        "35.643600",
        "36.673600",
        500,
    ),
    PlaceSpec(
        "khan-sheikhoun",
        "Khan Sheikhoun",
        ("خان شيخون", "Khan Shaykhun"),
        "Idlib",
        "Maarat al-Numan",
        "35.441900",
        "36.648300",
        370,
    ),
    PlaceSpec("ariha", "Ariha", ("أريحا",), "Idlib", "Ariha", "35.813600", "36.609700", 610),
    PlaceSpec("saraqib", "Saraqib", ("سراقب",), "Idlib", "Idlib", "35.864400", "36.800600", 360),
    PlaceSpec(
        "kafr-nabl",
        "Kafr Nabl",
        ("كفرنبل", "Kafr Nubl", "Kafranbel"),
        "Idlib",
        "Maarat al-Numan",
        "35.614200",
        "36.561400",
        600,
    ),
    PlaceSpec(
        "kafr-zita",
        "Kafr Zita",
        ("كفرزيتا", "Kafr Zeita"),
        "Hama",
        "Mahardah",
        "35.374200",
        "36.601700",
        320,
    ),
    PlaceSpec(
        "hass", "Hass", ("حاس", "Has"), "Idlib", "Maarat al-Numan", "35.596900", "36.601100", 580
    ),
    PlaceSpec(
        "maarat-hurma",
        "Maarat Hurma",
        ("معرة حرمة", "Ma'arrat Hurmah"),
        "Idlib",
        "Maarat al-Numan",
        "35.537200",
        "36.610600",
        520,
    ),
    PlaceSpec(
        "lataminah",
        "Al-Lataminah",
        ("اللطامنة", "Latamneh"),
        "Hama",
        "Mahardah",
        "35.323300",
        "36.622800",
        300,
    ),
    PlaceSpec(
        "kurnaz", "Kurnaz", ("كرناز", "Karnaz"), "Hama", "Mahardah", "35.294700", "36.549400", 240
    ),
    PlaceSpec(
        "qalaat-madiq",
        "Qalaat al-Madiq",
        ("قلعة المضيق", "Qal'at al-Madiq"),
        "Hama",
        "Al-Suqaylabiyah",
        "35.410600",
        "36.387200",
        230,
    ),
    PlaceSpec("sarmin", "Sarmin", ("سرمين",), "Idlib", "Idlib", "35.903600", "36.725000", 390),
    PlaceSpec(
        "binnish", "Binnish", ("بنش", "Binnesh"), "Idlib", "Idlib", "35.957500", "36.713300", 380
    ),
    PlaceSpec(
        "maarrat-misrin",
        "Maarrat Misrin",
        ("معرة مصرين", "Ma'arrat Misrin"),
        "Idlib",
        "Idlib",
        "36.012200",
        "36.673300",
        400,
    ),
    PlaceSpec(
        "kafr-takharim",
        "Kafr Takharim",
        ("كفرتخاريم",),
        "Idlib",
        "Harem",
        "36.118300",
        "36.516400",
        430,
    ),
)


# --- Incidents -----------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentSpec:
    """One incident. ``when`` is local time (Asia/Damascus); ``actor`` ("RU", "SY"
    or "") decides the aircraft in the flight log and the attributions."""

    key: str
    when: str
    place: str
    what: str  # the title without the SAMPLE prefix and the place
    targets: tuple[str, ...]
    attack: str
    weapon: str
    killed: tuple[int, int]
    injured: tuple[int, int]
    children: int | None = None
    women: int | None = None
    harm: str = "fair"
    actor: str = ""
    precision: str = "minute"
    location: str = "100m"
    follow_up_of: str = ""
    hours: float = 0.0  # duration, for shelling that lasted
    sensitive: bool = False


I = IncidentSpec  # noqa: E741 - a short constructor name keeps the table readable
C, F, W, X = "confirmed", "fair", "weak", "contested"

INCIDENTS = (
    I("kfz-hospital", "2019-04-28 08:15", "kafr-zita", "Airstrike on cave hospital",
      (HOSPITAL,), AIR, UNGUIDED, (0, 0), (2, 4), harm=F, actor="RU"),
    I("ksf-school", "2019-04-30 11:20", "kansafra", "Airstrike on primary school",
      (SCHOOL,), AIR, UNGUIDED, (2, 3), (5, 8), children=2, harm=C, actor="RU"),
    I("kfn-barrels", "2019-05-03 06:50", "kafr-nabl", "Barrel bombs on residential street",
      (HOMES,), HELI, BARREL, (3, 5), (7, 12), children=1, women=2, harm=C, actor="SY"),
    I("kfn-hospital", "2019-05-05 09:40", "kafr-nabl", "Airstrike on surgical hospital",
      (HOSPITAL,), AIR, GUIDED, (1, 2), (4, 6), harm=C, actor="RU", location="exact"),
    I("kfn-hospital-2", "2019-05-05 10:05", "kafr-nabl",
      "Follow-up strike on surgical hospital as rescuers arrive", (HOSPITAL, CIVDEF), DOUBLE,
      GUIDED, (1, 1), (3, 5), harm=C, actor="RU", location="exact", follow_up_of="kfn-hospital"),
    I("hass-clinic", "2019-05-06 13:30", "hass", "Airstrike near primary health clinic",
      (HOSPITAL,), AIR, MISSILE, (0, 1), (2, 3), harm=W, actor="RU"),
    I("ltm-barrels", "2019-05-10 17:45", "lataminah", "Barrel bombs on residential area",
      (HOMES,), HELI, BARREL, (2, 4), (3, 9), harm=F, actor="SY", precision="hour",
      location="neighbourhood"),
    I("qmd-market", "2019-05-12 07:30", "qalaat-madiq", "Rocket fire on market street",
      (MARKET,), SHELL, ROCKETS, (1, 3), (4, 10), harm=X, hours=1.5, location="neighbourhood"),
    I("khs-bakery", "2019-05-14 12:10", "khan-sheikhoun", "Airstrike on bakery",
      (BAKERY,), AIR, UNGUIDED, (3, 4), (6, 8), children=1, women=1, harm=C, actor="RU"),
    I("mhr-homes", "2019-05-18 10:25", "maarat-hurma", "Incendiary strike on homes",
      (HOMES,), AIR, INCENDIARY, (0, 0), (2, 4), harm=W, actor="RU"),
    I("krn-mosque", "2019-05-21 15:00", "kurnaz", "Barrel bomb on mosque",
      (MOSQUE,), HELI, BARREL, (1, 2), (2, 5), harm=F, actor="SY"),
    I("jsr-market", "2019-05-26 19:30", "jisr", "Airstrike on evening market",
      (MARKET, HOMES), AIR, UNGUIDED, (5, 8), (10, 18), children=2, women=2, harm=C, actor="SY"),
    I("arh-homes", "2019-05-28 08:00", "ariha", "Airstrike on apartment building",
      (HOMES,), AIR, MISSILE, (4, 6), (9, 11), children=2, women=1, harm=C, actor="RU"),
    I("mna-civdef", "2019-06-03 11:40", "maarat-numan", "Airstrike on civil-defence centre",
      (CIVDEF,), AIR, GUIDED, (0, 1), (3, 4), harm=F, actor="RU"),
    I("kfn-school", "2019-06-07 06:20", "kafr-nabl", "Barrel bombs on secondary school",
      (SCHOOL,), HELI, BARREL, (0, 0), (1, 2), harm=W, actor="SY"),
    I("mna-cluster", "2019-06-11 21:10", "maarat-numan",
      "Cluster munitions on residential quarter", (HOMES,), AIR, CLUSTER, (2, 3), (8, 14),
      children=1, harm=F, actor="RU", location="neighbourhood"),
    I("srq-water", "2019-06-16 09:00", "saraqib", "Airstrike on water pumping station",
      (WATER,), AIR, UNGUIDED, (0, 0), (0, 2), harm=W, actor="SY"),
    I("ksf-homes", "2019-06-22 13:15", "kansafra", "Airstrike on family home",
      (HOMES,), AIR, UNGUIDED, (3, 4), (2, 5), children=2, women=1, harm=C, actor="RU"),
    I("kfz-shelling", "2019-06-27 12:00", "kafr-zita", "Artillery shelling of residential area",
      (HOMES,), SHELL, SHELLS, (1, 2), (3, 6), harm=X, precision="hour", hours=3,
      location="town"),
    I("mna-hospital", "2019-07-03 10:50", "maarat-numan", "Airstrike on central hospital",
      (HOSPITAL,), AIR, GUIDED, (1, 2), (5, 7), harm=C, actor="RU", location="exact"),
    I("jsr-homes", "2019-07-08 18:20", "jisr", "Barrel bombs on homes",
      (HOMES,), HELI, BARREL, (2, 2), (4, 6), harm=F, actor="SY"),
    I("hass-school", "2019-07-12 07:10", "hass", "Airstrike on school used as a shelter",
      (SCHOOL, CAMP), AIR, UNGUIDED, (2, 4), (6, 9), children=1, harm=F, actor="RU"),
    I("arh-market", "2019-07-16 16:40", "ariha", "Airstrike on market",
      (MARKET,), AIR, UNGUIDED, (6, 9), (15, 22), children=2, women=2, harm=C, actor="RU"),
    I("mna-market", "2019-07-22 09:35", "maarat-numan", "Airstrike on vegetable market",
      (MARKET,), AIR, UNGUIDED, (12, 18), (25, 40), children=3, women=2, harm=C, actor="RU",
      location="exact"),
    I("mna-market-2", "2019-07-22 09:55", "maarat-numan",
      "Follow-up strike on vegetable market as rescuers arrive", (MARKET, CIVDEF), DOUBLE,
      UNGUIDED, (2, 4), (6, 10), harm=C, actor="RU", location="exact",
      follow_up_of="mna-market"),
    I("arh-bakery", "2019-07-27 14:30", "ariha", "Airstrike on bakery queue",
      (BAKERY,), AIR, UNGUIDED, (3, 5), (8, 12), children=1, women=1, harm=F, actor="SY"),
    I("khs-hospital", "2019-08-02 11:05", "khan-sheikhoun", "Airstrike on hospital",
      (HOSPITAL,), AIR, GUIDED, (0, 1), (2, 4), harm=F, actor="RU"),
    I("mhr-school", "2019-08-06 08:45", "maarat-hurma", "Barrel bombs on school",
      (SCHOOL,), HELI, BARREL, (0, 0), (1, 3), harm=W, actor="SY"),
    I("kfn-civdef", "2019-08-11 19:00", "kafr-nabl", "Airstrike on civil-defence centre",
      (CIVDEF,), AIR, MISSILE, (1, 1), (2, 3), harm=F, actor="RU"),
    I("hass-camp", "2019-08-16 06:30", "hass", "Airstrike on camp for displaced families",
      (CAMP,), AIR, UNGUIDED, (10, 16), (20, 30), children=5, women=3, harm=C, actor="RU",
      location="exact", sensitive=True),
    I("hass-camp-2", "2019-08-16 06:55", "hass", "Follow-up strike on displacement camp",
      (CAMP,), DOUBLE, UNGUIDED, (1, 3), (4, 8), harm=F, actor="RU", location="exact",
      follow_up_of="hass-camp"),
    I("mna-mosque", "2019-08-24 15:20", "maarat-numan", "Airstrike near mosque at prayer time",
      (MOSQUE,), AIR, UNGUIDED, (2, 3), (5, 7), harm=F, actor="RU"),
    I("bns-school", "2019-09-14 10:00", "binnish", "Airstrike on school",
      (SCHOOL,), AIR, UNGUIDED, (0, 0), (0, 1), harm=W, actor="SY", precision="day"),
    I("kft-market", "2019-10-05 12:20", "kafr-takharim", "Airstrike on market",
      (MARKET,), AIR, UNGUIDED, (2, 4), (7, 9), harm=F, actor="RU"),
    I("mna-maternity", "2019-11-05 10:40", "maarat-numan", "Airstrike on maternity hospital",
      (HOSPITAL,), AIR, GUIDED, (0, 2), (3, 5), women=1, harm=F, actor="RU"),
    I("srm-homes", "2019-11-18 17:30", "sarmin", "Airstrike on residential building",
      (HOMES,), AIR, MISSILE, (3, 5), (6, 10), children=2, harm=F, actor="SY"),
    I("mna-market-dec", "2019-12-02 08:10", "maarat-numan", "Airstrike on market street",
      (MARKET,), AIR, UNGUIDED, (5, 8), (12, 20), children=1, women=2, harm=C, actor="RU"),
    I("srq-school", "2019-12-14 11:00", "saraqib", "Airstrike on school",
      (SCHOOL,), AIR, UNGUIDED, (1, 2), (4, 6), children=1, harm=F, actor="RU"),
    I("bns-homes", "2019-12-19 13:45", "binnish", "Barrel bombs on homes",
      (HOMES,), HELI, BARREL, (2, 3), (5, 8), harm=F, actor="SY"),
    I("srm-school", "2019-12-24 09:30", "sarmin", "Barrel bombs near school",
      (SCHOOL,), HELI, BARREL, (5, 8), (10, 14), children=4, women=1, harm=C, actor="SY"),
    I("arh-market-jan", "2020-01-07 16:15", "ariha", "Airstrike on market",
      (MARKET,), AIR, UNGUIDED, (4, 6), (9, 15), harm=F, actor="RU"),
    I("idl-market", "2020-01-15 12:30", "idlib", "Airstrike on industrial-zone market",
      (MARKET,), AIR, UNGUIDED, (8, 12), (20, 30), children=2, women=1, harm=C, actor="RU",
      location="exact"),
    I("idl-market-2", "2020-01-15 12:55", "idlib",
      "Follow-up strike on industrial-zone market", (MARKET, CIVDEF), DOUBLE, UNGUIDED,
      (2, 3), (5, 9), harm=F, actor="RU", location="exact", follow_up_of="idl-market"),
    I("arh-hospital", "2020-01-30 07:40", "ariha", "Airstrike on surgical hospital",
      (HOSPITAL,), AIR, GUIDED, (3, 5), (6, 10), harm=C, actor="RU", location="exact"),
    I("mms-school", "2020-02-05 14:00", "maarrat-misrin", "Barrel bombs near primary school",
      (SCHOOL,), HELI, BARREL, (1, 2), (3, 5), children=1, harm=F, actor="SY"),
    I("drk-homes", "2020-02-11 10:10", "darkush", "Airstrike on homes by the river",
      (HOMES,), AIR, UNGUIDED, (2, 3), (4, 6), harm=F, actor="SY"),
    I("slq-hospital", "2020-02-17 09:20", "salqin", "Airstrike near hospital",
      (HOSPITAL,), AIR, MISSILE, (0, 1), (2, 5), harm=W, actor="RU"),
    I("idl-schools", "2020-02-25 08:30", "idlib", "Cluster rockets on schools",
      (SCHOOL,), SHELL, CLUSTER, (4, 6), (8, 12), children=3, harm=C, hours=1,
      location="neighbourhood"),
    I("bns-homes-feb", "2020-02-29 19:00", "binnish", "Airstrike on residential building",
      (HOMES,), AIR, UNGUIDED, (2, 4), (3, 7), harm=F, actor="RU"),
    I("jsr-missiles", "2020-03-03 21:00", "jisr", "Missile strikes on residential area",
      (HOMES,), AIR, MISSILE, (1, 3), (5, 13), harm=F, actor="RU", location="neighbourhood"),
    I("ksf-shelling", "2020-03-04 16:00", "kansafra", "Shelling of village centre",
      (HOMES,), SHELL, SHELLS, (0, 1), (1, 3), harm=W, precision="hour", hours=2,
      location="town"),
    I("mms-market", "2020-03-05 06:45", "maarrat-misrin", "Airstrike on poultry market",
      (MARKET,), AIR, UNGUIDED, (6, 9), (10, 16), children=1, harm=C, actor="RU"),
)  # fmt: skip

# Photos per incident by civilian-harm grade (stronger grades rest on more material).
PHOTOS_BY_HARM = {"confirmed": 3, "fair": 2, "weak": 1, "contested": 1, "discounted": 1}

CAMERAS = (
    ("samsung", "SM-A105F"),
    ("HUAWEI", "ATU-L21"),
    ("Xiaomi", "Redmi Note 7"),
    ("Canon", "Canon EOS 1300D"),
    ("NIKON CORPORATION", "NIKON D3400"),
    ("OPPO", "CPH1909"),
)
PHOTO_SOURCES = (
    (SRC_CIVDEF, "SAMPLE civil-defence media team"),
    (SRC_LOCAL, "SAMPLE local photographer 1"),
    (SRC_LOCAL, "SAMPLE local photographer 2"),
    (SRC_MEDICAL, "SAMPLE hospital media office"),
)

PHOTO_DESCRIPTION = (
    "SAMPLE: a generated image standing in for a photograph of the damage; its EXIF carries "
    "the camera, local time and GPS position."
)
PHOTO_VERIFICATION = (
    "SAMPLE: geolocated against satellite imagery; EXIF time consistent with the spotter log."
)


# --- Forces, units, officials, postings -------------------------------------------------


@dataclass(frozen=True)
class ForceSpec:
    key: str
    name: str
    short_name: str
    country: str
    description: str


FORCES = (
    ForceSpec(
        "sy",
        "SAMPLE Republican Air Force",
        "SAMPLE RAF",
        "Syria",
        "SAMPLE: a fictional force modelled on a state air force, for the demo case.",
    ),
    ForceSpec(
        "ru",
        "SAMPLE Expeditionary Aerospace Force",
        "SAMPLE EAF",
        "Russia",
        "SAMPLE: a fictional force modelled on a foreign aerospace force deployed in support "
        "of the state, for the demo case.",
    ),
)
SENTINEL_FORCE = FORCES[0].name  # its presence means the demo case is loaded


@dataclass(frozen=True)
class UnitSpec:
    key: str
    force: str
    parent: str  # unit key, "" for the top of the force
    name: str
    aliases: tuple[str, ...] = ()


UNITS = (
    UnitSpec("sy-hq", "sy", "", "SAMPLE Republican Air Force Command",
             ("قيادة القوى الجوية (عينة)", "Командование ВВС (SAMPLE)")),
    UnitSpec("sy-nag", "sy", "sy-hq", "SAMPLE Northern Air Group", ("SAMPLE NAG",)),
    UnitSpec("sy-cag", "sy", "sy-hq", "SAMPLE Central Air Group", ("SAMPLE CAG",)),
    UnitSpec("sy-hama", "sy", "sy-nag", "SAMPLE Hama Air Base Regiment",
             ("فوج قاعدة حماة الجوية (عينة)",)),
    UnitSpec("sy-shayrat", "sy", "sy-cag", "SAMPLE Shayrat Air Base Regiment",
             ("فوج قاعدة الشعيرات (عينة)",)),
    UnitSpec("sy-71hb", "sy", "sy-hama", "SAMPLE 71st Helicopter Brigade",
             ("اللواء 71 حوامات (عينة)", "SAMPLE 71 Heli Bde")),
    UnitSpec("sy-678", "sy", "sy-hama", "SAMPLE 678th Fighter-Bomber Squadron",
             ("السرب 678 (عينة)",)),
    UnitSpec("sy-685", "sy", "sy-shayrat", "SAMPLE 685th Fighter-Bomber Squadron",
             ("السرب 685 (عينة)",)),
    UnitSpec("ru-hq", "ru", "", "SAMPLE Expeditionary Aerospace Force Command",
             ("Командование экспедиционных ВКС (SAMPLE)",)),
    UnitSpec("ru-cag", "ru", "ru-hq", "SAMPLE Coastal Aviation Group",
             ("Приморская авиагруппа (SAMPLE)",)),
    UnitSpec("ru-reg", "ru", "ru-cag", "SAMPLE Hmeimim Mixed Aviation Regiment",
             ("Смешанный авиаполк Хмеймим (SAMPLE)", "فوج حميميم الجوي المختلط (عينة)")),
    UnitSpec("ru-1bs", "ru", "ru-reg", "SAMPLE 1st Bomber Squadron (Su-24)",
             ("1-я бомбардировочная эскадрилья (SAMPLE)",)),
    UnitSpec("ru-2bs", "ru", "ru-reg", "SAMPLE 2nd Bomber Squadron (Su-34)",
             ("2-я бомбардировочная эскадрилья (SAMPLE)",)),
    UnitSpec("ru-heli", "ru", "ru-reg", "SAMPLE Army Aviation Helicopter Detachment",
             ("Вертолётный отряд (SAMPLE)",)),
)  # fmt: skip
UNIT_SOURCE = "SAMPLE: invented for the demo case; no real unit is described."


@dataclass(frozen=True)
class OfficialSpec:
    key: str
    name: str  # Latin script, ends with NAME_SUFFIX
    nationality: str
    born: str
    aliases: tuple[tuple[str, str, str], ...]  # (name, script, language)


def _official(key, name, nationality, born, latin, arabic, cyrillic) -> OfficialSpec:
    aliases = (
        (latin + NAME_SUFFIX, "latin", "en"),
        (arabic + " (عينة)", "arabic", "ar"),
        (cyrillic + NAME_SUFFIX, "cyrillic", "ru"),
    )
    return OfficialSpec(key, name + NAME_SUFFIX, nationality, born, aliases)


OFFICIALS = (
    _official("kharrat", "Adnan Yusuf Kharrat", "Syrian", "1958",
              "Adnan Youssef al-Kharrat", "عدنان يوسف الخراط", "Аднан Юсуф Харрат"),
    _official("dabbagh", "Marwan Salim Dabbagh", "Syrian", "1957-03",
              "Marwan Selim al-Dabbag", "مروان سليم الدباغ", "Марван Салим Даббаг"),
    _official("sawwan", "Fadi Khalil Sawwan", "Syrian", "1963",
              "Fady Khaleel Sawan", "فادي خليل الصوان", "Фади Халиль Савван"),
    _official("qudsi", "Hisham Jamil Qudsi", "Syrian", "1966",
              "Hicham Jameel al-Kudsi", "هشام جميل القدسي", "Хишам Джамиль Кудси"),
    _official("nakhleh", "Bassam Aziz Nakhleh", "Syrian", "1969",
              "Basam Aziz Nakhla", "بسام عزيز نخلة", "Бассам Азиз Нахле"),
    _official("shaheen", "Rami Fawwaz Shaheen", "Syrian", "1975",
              "Rami Fawaz Chahine", "رامي فواز شاهين", "Рами Фавваз Шахин"),
    _official("hijazi", "Omar Kanaan Hijazi", "Syrian", "1978",
              "Umar Kanan Hejazi", "عمر كنعان حجازي", "Омар Канаан Хиджази"),
    _official("tannous", "Walid Saeed Tannous", "Syrian", "1967",
              "Walid Said Tanous", "وليد سعيد طنوس", "Валид Саид Таннус"),
    _official("dubrovin", "Yaroslav Mironovich Dubrovin", "Russian", "1954",
              "Iaroslav Dubrovin", "ياروسلاف ميرونوفيتش دوبروفين", "Ярослав Миронович Дубровин"),
    _official("zharkov", "Viktor Pavlovich Zharkov", "Russian", "1961",
              "Victor Jarkov", "فيكتور بافلوفيتش جاركوف", "Виктор Павлович Жарков"),
    _official("rostovtsev", "Gennady Ilyich Rostovtsev", "Russian", "1964",
              "Gennadiy Rostovtsev", "غينادي إيليتش روستوفتسيف", "Геннадий Ильич Ростовцев"),
    _official("belozerov", "Arkady Semyonovich Belozerov", "Russian", "1968",
              "Arkadiy Belozyorov", "أركادي سيميونوفيتش بيلوزيوروف",
              "Аркадий Семёнович Белозёров"),
    _official("tumanov", "Oleg Borisovich Tumanov", "Russian", "1972",
              "Oleg Toumanov", "أوليغ بوريسوفيتش تومانوف", "Олег Борисович Туманов"),
    _official("yastrebov", "Leonid Markovich Yastrebov", "Russian", "1979",
              "Leonid Iastrebov", "ليونيد ماركوفيتش ياستريبوف", "Леонид Маркович Ястребов"),
    _official("korobeinikov", "Stanislav Yuryevich Korobeinikov", "Russian", "1981",
              "Stanislav Korobeynikov", "ستانيسلاف يوريفيتش كوروبينيكوف",
              "Станислав Юрьевич Коробейников"),
)  # fmt: skip


@dataclass(frozen=True)
class PostingSpec:
    """Dates are "YYYY", "YYYY-MM" or "YYYY-MM-DD"; the precision follows the form."""

    official: str
    unit: str
    title: str
    rank: str
    start: str
    end: str = ""
    is_command: bool = True
    is_acting: bool = False


POSTINGS = (
    PostingSpec("kharrat", "sy-hq", "Supreme Commander (head of state)", "", "2000"),
    # A change of command in mid-campaign: Dabbagh hands over to Sawwan.
    PostingSpec("dabbagh", "sy-hq", "Commander", "Lieutenant General", "2016-03", "2019-09-30"),
    PostingSpec("sawwan", "sy-cag", "Commander", "Major General", "2017-01", "2019-09-30"),
    PostingSpec("sawwan", "sy-hq", "Commander", "Lieutenant General", "2019-10-01"),
    PostingSpec("tannous", "sy-cag", "Commander", "Major General", "2019-10-01"),
    PostingSpec("tannous", "sy-shayrat", "Commander", "Brigadier General", "2019-01", "2019-09-30"),
    # Qudsi holds two command posts at once.
    PostingSpec("qudsi", "sy-nag", "Commander", "Major General", "2017-06"),
    PostingSpec("qudsi", "sy-hama", "Commander", "Major General", "2018-02", "2019-12-31"),
    PostingSpec("nakhleh", "sy-71hb", "Commander", "Brigadier General", "2018"),
    PostingSpec("shaheen", "sy-678", "Commander", "Colonel", "2018-09"),
    PostingSpec("hijazi", "sy-678", "Deputy Commander", "Lieutenant Colonel", "2018-09",
                is_command=False),
    # Hijazi stands in while Shaheen is away.
    PostingSpec("hijazi", "sy-678", "Commander", "Lieutenant Colonel", "2019-07-15",
                "2019-08-31", is_acting=True),
    PostingSpec("dubrovin", "ru-hq", "Supreme Commander-in-Chief (head of state)", "", "2012"),
    PostingSpec("zharkov", "ru-hq", "Commander", "Colonel General", "2018-11"),
    PostingSpec("rostovtsev", "ru-cag", "Commander", "Lieutenant General", "2018-04",
                "2019-11-14"),
    PostingSpec("belozerov", "ru-cag", "Chief of Staff", "Major General", "2018-05",
                "2019-11-14", is_command=False),
    PostingSpec("belozerov", "ru-cag", "Commander", "Lieutenant General", "2019-11-15"),
    PostingSpec("tumanov", "ru-reg", "Commander", "Colonel", "2018-08"),
    PostingSpec("yastrebov", "ru-1bs", "Commander", "Lieutenant Colonel", "2018-12", "2020-02"),
    PostingSpec("korobeinikov", "ru-2bs", "Commander", "Lieutenant Colonel", "2019-03"),
)  # fmt: skip
POSTING_SOURCE = "SAMPLE: invented posting for the demo case."


# --- Attributions --------------------------------------------------------------------


@dataclass(frozen=True)
class AttributionSpec:
    """``evidence`` names the kinds that support it: "flight_log", "photo", "testimony",
    "satellite", "document", "web_capture", "audio" (the incident's items of that kind)."""

    incident: str
    role: str
    confidence: str
    basis: str
    force: str = ""
    unit: str = ""
    official: str = ""
    evidence: tuple[str, ...] = ()


_FLIGHTS = "Spotter post logged {aircraft} from {origin} over the town minutes before the strike."
_COMMAND = "Held command over the attributed unit on the date (see postings); SAMPLE reasoning."

A = AttributionSpec
ATTRIBUTIONS = (
    A("kfn-barrels", "direct", "high", _FLIGHTS.format(aircraft="a Mi-8", origin="Hama")
      + " Witnesses describe a helicopter dropping barrels.", unit="sy-71hb",
      evidence=("flight_log", "testimony", "photo")),
    A("kfn-barrels", "commander", "medium", _COMMAND, official="nakhleh"),
    A("kfn-hospital", "direct", "medium", _FLIGHTS.format(aircraft="two Su-34", origin="Hmeimim")
      + " Remnants in photos fit a guided bomb.", unit="ru-2bs",
      evidence=("flight_log", "photo", "satellite", "audio")),
    A("kfn-hospital", "commander", "low", _COMMAND, official="korobeinikov"),
    A("kfn-hospital-2", "direct", "medium", "Same aircraft returned 25 minutes later (flight "
      "log); rescuers describe the second strike.", unit="ru-2bs",
      evidence=("flight_log", "testimony")),
    A("ltm-barrels", "direct", "medium", _FLIGHTS.format(aircraft="a Mi-17", origin="Hama"),
      unit="sy-71hb", evidence=("flight_log", "testimony")),
    A("jsr-market", "direct", "medium", _FLIGHTS.format(aircraft="an Su-22", origin="Hama"),
      unit="sy-678", evidence=("flight_log", "photo", "testimony")),
    A("jsr-market", "commander", "low", _COMMAND, official="shaheen"),
    A("mna-market", "direct", "medium", _FLIGHTS.format(aircraft="two Su-24", origin="Hmeimim"),
      unit="ru-1bs", evidence=("flight_log", "photo", "satellite", "testimony", "document")),
    A("mna-market", "commander", "low", _COMMAND, official="yastrebov"),
    A("mna-market", "commander", "low", _COMMAND, official="tumanov"),
    A("mna-market-2", "direct", "medium", "The same pair was logged diving again twenty "
      "minutes later.", unit="ru-1bs", evidence=("flight_log", "testimony")),
    A("arh-bakery", "direct", "medium", _FLIGHTS.format(aircraft="an Su-22", origin="Hama"),
      unit="sy-678", evidence=("flight_log", "photo")),
    A("arh-bakery", "commander", "low", "Acting commander of the squadron on the date; "
      "SAMPLE reasoning.", official="hijazi"),
    A("hass-camp", "suspected", "medium", "Only the foreign force's jets were logged over the "
      "area that morning; no unit identified yet.", force="ru",
      evidence=("flight_log", "satellite", "testimony")),
    A("srm-school", "direct", "high", _FLIGHTS.format(aircraft="a Mi-8", origin="Hama"),
      unit="sy-71hb", evidence=("flight_log", "testimony", "photo")),
    A("srm-school", "commander", "low", _COMMAND, official="qudsi"),
    A("srm-school", "failed_punish", "low", "Head of the air force on the date; no inquiry "
      "known. SAMPLE reasoning.", official="sawwan"),
    A("arh-hospital", "direct", "low", _FLIGHTS.format(aircraft="two Su-34", origin="Hmeimim"),
      unit="ru-reg", evidence=("flight_log", "satellite", "document")),
    A("arh-hospital", "commander", "low", _COMMAND, official="zharkov"),
    A("idl-market", "direct", "medium", _FLIGHTS.format(aircraft="two Su-24", origin="Hmeimim"),
      unit="ru-1bs", evidence=("flight_log", "photo", "web_capture")),
    A("khs-bakery", "suspected", "low", "Jets of the foreign force logged nearby.", force="ru",
      evidence=("flight_log",)),
    A("mms-school", "direct", "medium", _FLIGHTS.format(aircraft="a Mi-8", origin="Hama"),
      unit="sy-71hb", evidence=("flight_log",)),
    A("krn-mosque", "suspected", "low", "Only the state force flies helicopters here.",
      force="sy"),
    A("drk-homes", "suspected", "low", "Jets of the state force reported by local observers.",
      force="sy"),
    A("mms-market", "commander", "low", "Supreme commander of the foreign force; SAMPLE "
      "reasoning for the demo.", official="dubrovin", evidence=("flight_log",)),
    A("srm-homes", "commander", "low", "Supreme commander of the state force; SAMPLE reasoning "
      "for the demo.", official="kharrat"),
)  # fmt: skip


# --- Flight log --------------------------------------------------------------------------

# Spotter posts (pseudonymous codes) at town level.
STATIONS = (
    ("KFN-1", "35.62", "36.57"),
    ("MAN-2", "35.65", "36.68"),
    ("ARH-1", "35.82", "36.61"),
    ("JSR-3", "35.81", "36.33"),
    ("IDL-1", "35.93", "36.64"),
    ("KHS-1", "35.44", "36.64"),
    ("LTM-2", "35.32", "36.62"),
    ("SRM-2", "35.90", "36.72"),
)
# Stations whose spotters write local times without an offset.
NAIVE_TIME_STATIONS = ("IDL-1", "SRM-2")
BASES = {"Hmeimim": (35.401, 35.949), "Hama": (35.118, 36.711), "Shayrat": (34.490, 36.909)}
# Incidents on whose day the log has observations (follow-ups are added automatically).
FLIGHT_DAYS = (
    "kfn-barrels",
    "kfn-hospital",
    "ltm-barrels",
    "khs-bakery",
    "jsr-market",
    "mna-hospital",
    "mna-market",
    "arh-bakery",
    "hass-camp",
    "srm-school",
    "idl-market",
    "arh-hospital",
    "mms-school",
    "mms-market",
)


# --- Satellite pairs, testimonies, documents, web captures, audio --------------------------

SATELLITE_PAIRS = ("kfn-hospital", "mna-market", "hass-camp", "arh-hospital")


@dataclass(frozen=True)
class WitnessSpec:
    code: str
    role: str
    incident: str
    interview_date: str
    method: str
    consent: tuple[bool, bool, bool, bool]  # given, quote, name, share with courts
    summary: str
    account: str


WITNESSES = (
    WitnessSpec("A-01", "survivor", "kfn-barrels", "2019-05-20", "in_person",
                (True, True, False, True),
                "Heard a helicopter, then two barrels fell on the street; neighbours injured.",
                "I was at home with my family when we heard the helicopter circling for several "
                "minutes. The first barrel fell at the end of our street and the second close to "
                "the bakery. Our windows broke and the neighbours' house collapsed."),
    WitnessSpec("A-02", "medical", "kfn-hospital", "2019-05-09", "phone",
                (True, True, False, True),
                "Duty nurse describing the strike on the hospital and the evacuation.",
                "We had warning from the spotters on the radio that jets were heading towards us. "
                "Minutes later the strike hit the eastern wing. We moved the patients to the "
                "basement and then to another facility."),
    WitnessSpec("A-03", "rescuer", "kfn-hospital-2", "2019-05-11", "video_call",
                (True, True, False, True),
                "Civil-defence volunteer hit by the second strike while helping the wounded.",
                "Our team arrived about twenty minutes after the first strike. While we were "
                "carrying the wounded out, the jets came back and struck the same place again. "
                "Two of my colleagues were injured."),
    WitnessSpec("A-04", "relative", "jsr-market", "2019-06-04", "messaging",
                (True, False, False, True),
                "Relative of a victim killed while shopping in the evening market.",
                "My cousin went to the market after the evening prayer. The jet passed twice "
                "before it struck. We found him at the hospital later that night."),
    WitnessSpec("A-05", "eyewitness", "mna-market", "2019-07-25", "phone",
                (True, True, True, True),
                "Shopkeeper who saw the strike on the vegetable market.",
                "It was mid-morning and the market was full. I heard the jets diving and ran "
                "into the shop. When I came out the stalls across the road were destroyed."),
    WitnessSpec("A-06", "rescuer", "mna-market-2", "2019-07-28", "video_call",
                (True, True, False, False),
                "Rescuer describing the follow-up strike on the market.",
                "We were pulling people from the rubble when the second strike came, about "
                "twenty minutes after the first. We had to leave and come back later."),
    WitnessSpec("A-07", "survivor", "hass-camp", "2019-08-20", "in_person",
                (True, True, False, True),
                "Displaced mother whose tent was hit early in the morning.",
                "We had come to the camp two months earlier. At dawn the jets struck the rows of "
                "tents near the school building. Then they struck again while people gathered."),
    WitnessSpec("A-08", "medical", "khs-hospital", "2019-08-10", "phone",
                (True, False, False, False),
                "Doctor describing damage to the hospital; agreed to internal use only.",
                "The strike landed next to the emergency entrance. The generator was destroyed "
                "and we stopped surgery for three days."),
    WitnessSpec("A-09", "eyewitness", "ltm-barrels", "2019-05-30", "messaging",
                (True, True, False, True),
                "Farmer who watched a helicopter drop barrels on the edge of town.",
                "In the late afternoon a helicopter came from the south and circled over the "
                "town. I saw two barrels falling towards the houses near the water tower."),
    WitnessSpec("A-10", "relative", "srm-school", "2020-01-05", "in_person",
                (True, True, False, True),
                "Father of a pupil; barrels fell near the school at the start of the day.",
                "The children were arriving at school when we heard the helicopter. The barrels "
                "fell in the street beside the school wall."),
    WitnessSpec("A-11", "eyewitness", "arh-hospital", "2020-02-06", "phone",
                (True, False, False, True),
                "Resident living opposite the hospital.",
                "Early in the morning I heard two jets. The strike hit the hospital's upper "
                "floors; ambulances took the patients north."),
    WitnessSpec("A-12", "survivor", "idl-market", "2020-01-22", "written",
                (False, False, False, False),
                "Written statement; consent not yet confirmed, so held for internal use only.",
                "I was buying spare parts in the industrial zone when the strike hit the market. "
                "I was injured in the leg and taken to hospital by a stranger."),
)  # fmt: skip
INTERVIEWER = "researcher (SAMPLE interviewer)"
INTERVIEW_HOUR = 11  # local time; the interviews are known to the day


@dataclass(frozen=True)
class DocumentSpec:
    incident: str
    filename: str
    title: str
    source_type: str
    source_name: str
    body: str


DOCUMENTS = (
    DocumentSpec("kfn-hospital", "admissions-extract.txt", "Hospital admissions register extract",
                 SRC_MEDICAL, "SAMPLE hospital administration",
                 "Admissions after the strike: 6 injured received, 2 deceased on arrival, "
                 "4 transferred. Names withheld."),
    DocumentSpec("mna-market", "civil-defence-report.txt", "Civil-defence response report",
                 SRC_CIVDEF, "SAMPLE civil-defence centre",
                 "Teams dispatched 09:38. Second strike at 09:55 while teams worked on site. "
                 "Operation ended 14:10."),
    DocumentSpec("ksf-school", "school-closure-notice.txt", "Education office notice on closure",
                 SRC_OFFICIAL, "SAMPLE local education office",
                 "The primary school is closed until further notice after damage to two "
                 "classrooms and the courtyard wall."),
    DocumentSpec("hass-camp", "camp-damage-list.txt", "Camp management damage list",
                 SRC_CIVDEF, "SAMPLE camp management committee",
                 "Tents destroyed: 14. Tents damaged: 31. Water tank destroyed: 1."),
    DocumentSpec("arh-hospital", "director-statement.txt", "Hospital director's statement",
                 SRC_MEDICAL, "SAMPLE hospital director",
                 "The hospital's coordinates had been shared through the humanitarian "
                 "notification system. The upper floors and operating theatre are out of use."),
    DocumentSpec("idl-schools", "council-damage-assessment.txt",
                 "Local council damage assessment", SRC_OFFICIAL, "SAMPLE local council",
                 "Three school buildings in the neighbourhood were hit by submunitions. "
                 "Classes suspended."),
)  # fmt: skip


@dataclass(frozen=True)
class WebCaptureSpec:
    incident: str
    page: str
    minutes_after: int
    text: str


WEB_CAPTURES = (
    WebCaptureSpec("kfn-hospital", "SAMPLE Kafr Nabl News (fictional page)", 12,
                   "Urgent: warplanes struck the surgical hospital. Teams are evacuating."),
    WebCaptureSpec("jsr-market", "SAMPLE Idlib Voices (fictional page)", 25,
                   "Airstrike on the evening market in Jisr al-Shughour, casualties reported."),
    WebCaptureSpec("mna-market", "SAMPLE Maarat Today (fictional page)", 8,
                   "Massacre in the vegetable market. Rescuers targeted by a second strike."),
    WebCaptureSpec("hass-camp", "SAMPLE Camp Monitor (fictional page)", 40,
                   "Displacement camp near Hass hit at dawn; families among the victims."),
    WebCaptureSpec("idl-market", "SAMPLE Idlib Voices (fictional page)", 15,
                   "Industrial-zone market in Idlib city struck twice within half an hour."),
    WebCaptureSpec("srm-school", "SAMPLE Sarmin Updates (fictional page)", 30,
                   "Helicopter dropped barrels next to a school as pupils arrived."),
)  # fmt: skip


@dataclass(frozen=True)
class AudioSpec:
    incident: str
    minutes_before: int
    title: str


AUDIO = (
    AudioSpec("kfn-hospital", 6, "Spotter radio warning before the hospital strike"),
    AudioSpec("mna-market", 4, "Spotter radio warning before the market strike"),
)


# --- Videos and a recorded interview (demo.clips: test patterns and tones) ----------------


@dataclass(frozen=True)
class VideoSpec:
    """A phone's video of the aftermath. Its tags claim the phone, the time
    (``minutes_after`` the strike) and a place near the site, as the phone writes them:
    an iPhone (make "Apple") its QuickTime keys, with the local time and its offset, in
    a .MOV; an Android phone MP4's creation time (UTC) and ``location``."""

    incident: str
    minutes_after: int
    make: str
    model: str
    size: tuple[int, int]
    seconds: int
    title: str
    source: tuple[str, str]


VIDEOS = (
    VideoSpec("kfn-hospital", 17, "Apple", "iPhone 7", (640, 360), 6,
              "Phone video of the hospital's damaged wing",
              (SRC_CIVDEF, "SAMPLE civil-defence media team")),
    VideoSpec("mna-market", 9, "samsung", "SM-A505F", (640, 360), 6,
              "Phone video of the market after the strike",
              (SRC_LOCAL, "SAMPLE local photographer 2")),
    VideoSpec("jsr-market", 21, "Apple", "iPhone 8", (320, 240), 6,
              "Phone video of the evening market after the strike",
              (SRC_LOCAL, "SAMPLE local photographer 1")),
)  # fmt: skip
VIDEO_DESCRIPTION = (
    "SAMPLE: a generated test pattern standing in for a phone video of the damage; its tags "
    "carry the phone, the recording time and the place."
)
VIDEO_VERIFICATION = "SAMPLE: tagged place and time consistent with the photos of the site."


@dataclass(frozen=True)
class ReuploadSpec:
    """A channel's re-upload of the video of incident ``of``: the same pictures, smaller,
    with the channel's logo and other keyframe spacing (``gop`` frames), and no tag (the
    platform removed them)."""

    of: str
    page: str
    hours_after: int
    size: tuple[int, int]
    gop: int


REUPLOAD = ReuploadSpec("mna-market", "SAMPLE Maarat Today (fictional page)", 3, (426, 240), 24)


@dataclass(frozen=True)
class InterviewSpec:
    """The sound recording of witness ``witness``'s interview (its transcript is the
    testimony), started ``minutes_in`` after ``INTERVIEW_HOUR``."""

    witness: str
    minutes_in: int
    seconds: int
    pitch: float


INTERVIEWS = (InterviewSpec("A-01", 4, 8, 170.0),)
