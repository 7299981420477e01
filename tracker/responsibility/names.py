"""Name matching across scripts: one normal form for search keys.

Officials and units are known by many spellings (Arabic, Cyrillic, Latin
transliterations). Every searchable name is stored beside its *search key*:
Unicode-compatibility-decomposed, diacritics and Arabic short vowels removed,
Arabic letter variants folded, case folded, punctuation turned into spaces.
Search terms go through the same function, so matching is a plain substring
test on the keys, which works identically on SQLite and PostgreSQL (SQLite's
LIKE folds case for ASCII only).
"""

import re
import unicodedata
from collections.abc import Iterable

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

_ARABIC_FOLDS = str.maketrans(
    {
        "\u0622": "\u0627",  # alef with madda -> alef
        "\u0623": "\u0627",  # alef with hamza above -> alef
        "\u0625": "\u0627",  # alef with hamza below -> alef
        "\u0671": "\u0627",  # alef wasla -> alef
        "\u0649": "\u064a",  # alef maksura -> ya
        "\u0629": "\u0647",  # ta marbuta -> ha
        "\u0640": None,  # tatweel (elongation) carries no meaning
    }
)
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)


def search_key(text: str) -> str:
    """Return the normal form used to match names, e.g. ``"Al-Ḥasan"`` -> ``"al hasan"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.translate(_ARABIC_FOLDS).casefold()
    return _SEPARATORS.sub(" ", folded).strip()


# --- The loose key: recall across transliterations ----------------------------------------
#
# search_key() keeps distinct spellings distinct ("Hasan" is not "Hassan"). Researchers
# meet the same person as al-Hassan, Hasan, Хасан and Hassan, so names also get a looser
# key, stored beside the strict one and matched the same way (substring):
#   1. Cyrillic is transliterated to Latin with one simple table (х -> kh, ж -> zh, ...);
#   2. Latin spellings that vary between English, French and Russian transliterations are
#      folded (kh -> h, gh -> g, zh/dzh/dj -> j, q -> k, w -> v, ou/oo -> u, ee -> i,
#      y -> i, ei -> ai, c -> k unless in "ch");
#   3. the Arabic article is dropped: "al"/"el" before another word, assimilated forms
#      ("ash Shughour", "ad Dabbagh") and a leading "ال" glued to an Arabic word;
#   4. doubled letters are collapsed (Hassan -> hasan), digits excepted (225 stays 225);
#   5. apostrophes and the signs written for ayn and hamza are dropped, not turned into a
#      space (Ma'arrat, Maʿarrat -> marat);
#   6. a final ta marbuta written "ah" or "eh" is written "a" (Kansafrah, Kansafreh ->
#      kansafra).
# Arabic is not transliterated: vowels are not written, so "حسن" cannot be told apart from
# "Hassan", "Husn" or "Hasun". An Arabic name is found by Arabic terms, or by a recorded
# Latin or Cyrillic alias.

_CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "ґ": "g",
        "д": "d",
        "е": "e",
        "є": "ye",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "і": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": None,
        "ы": "y",
        "ь": None,
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)
# Applied in this order: longer spellings first.
_LATIN_FOLDS = (
    ("dzh", "j"),
    ("zh", "j"),
    ("dj", "j"),
    ("kh", "h"),
    ("gh", "g"),
    ("ph", "f"),
    ("ck", "k"),
    ("q", "k"),
    ("w", "v"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("y", "i"),
    ("ei", "ai"),
)
_HARD_C = re.compile(r"c(?!h)")
_ARTICLES = frozenset({"al", "el", "ul", "il"})
# "ash Shughour", "ad Dabbagh", "ar Rastan": the article takes the sun letter that follows.
_SUN_ARTICLE = re.compile(r"^[ae](t|th|d|dh|r|z|s|sh|n)$")
_ARABIC_ARTICLE = "\u0627\u0644"  # ال
_DOUBLED = re.compile(r"([^\W\d_])\1+")
# Apostrophes, and the modifier letters written for ayn and hamza (ʿ ʾ ʻ ʼ), which
# search_key keeps as letters or turns into spaces.
_GLOTTAL = str.maketrans(dict.fromkeys("'`´‘’‛′ʹʻʼʽʾʿˈ"))
_TA_MARBUTA = re.compile(r"(?<=[a-z])[ae]h$")


def loose_key(text: str) -> str:
    """Return the looser matching form, e.g. ``"al-Hassan"``, ``"Хасан"`` -> ``"hasan"``.

    Built on :func:`search_key`; see the notes above for what it folds and its limits."""
    key = search_key(text.translate(_GLOTTAL)).translate(_CYRILLIC_TO_LATIN)
    for spelling, folded in _LATIN_FOLDS:
        key = key.replace(spelling, folded)
    key = _HARD_C.sub("k", key)
    words = key.split()
    kept = []
    for n, word in enumerate(words):
        following = words[n + 1] if n + 1 < len(words) else ""
        if following and word in _ARTICLES:
            continue
        sun = _SUN_ARTICLE.match(word)
        if following and sun and following.startswith(sun.group(1)):
            continue
        if word.startswith(_ARABIC_ARTICLE) and len(word) > 3:
            word = word[len(_ARABIC_ARTICLE) :]
        if len(word) > 3:
            word = _TA_MARBUTA.sub("a", word)
        kept.append(word)
    return _DOUBLED.sub(r"\1", " ".join(kept))


def keys_field(names: Iterable[str]) -> str:
    """``|key1|key2|`` for a multi-valued key field (``Unit.search_keys``, ``loose_keys``):
    a whole-name match is a search for ``|key|``, a partial one for ``key``."""
    return "|" + "|".join(names) + "|"


def official_name_q(term: str) -> Q | None:
    """Officials any of whose names (the name or an alias) matches ``term``, strictly or
    loosely; None for a term with nothing to match. Each official once (EXISTS)."""
    from tracker.models import OfficialAlias

    key, loose = search_key(term), loose_key(term)
    if not key:
        return None
    matches = Q(key__contains=key)
    found = Q(name_key__contains=key)
    if loose:
        matches |= Q(loose_key__contains=loose)
        found |= Q(loose_key__contains=loose)
    alias = OfficialAlias.objects.filter(matches, official=OuterRef("pk"))
    return found | Q(Exists(alias))


def unit_name_q(term: str) -> Q | None:
    """Units whose name or an alias matches ``term``, strictly or loosely; None for a
    term with nothing to match."""
    key, loose = search_key(term), loose_key(term)
    if not key:
        return None
    found = Q(search_keys__contains=key)
    if loose:
        found |= Q(loose_keys__contains=loose)
    return found


# --- Places: ranked, forgiving matches -----------------------------------------------------
#
# A place stores three key fields, each ``|strict|loose|...`` for its names (keys_of): its
# own name, its other names, its district and governorate. The term's strict and loose
# keys are looked for in them as substrings, so "Maarat an-Numan", "Ma'arrat al Nu'man"
# and "maarat al-num" all find Maarat al-Numan. The picker ranks what it finds: the
# place's own name equal to the term, then beginning with it, then containing it, then
# the same three tiers over its other names, and last the places found only by their
# district or governorate (or with the words of the term scattered over several fields).

PLACE_KEY_FIELDS = ("name_keys", "other_keys", "area_keys")
PLACE_NAME_FIELDS, PLACE_AREA_FIELD = PLACE_KEY_FIELDS[:2], PLACE_KEY_FIELDS[2]
MAX_PLACE_WORDS = 12  # as the admin's other searches: each word is a condition per field


def keys_of(names: Iterable[str]) -> str:
    """The key field of ``names``: the strict and the loose key of each name that has
    one, each once, e.g. ``|maarat al numan|marat numan|``; empty for no name."""
    keys: dict[str, None] = {}
    for name in names:
        for key in (search_key(name), loose_key(name)):
            if key:
                keys[key] = None
    return keys_field(keys) if keys else ""


def place_keys(
    *, name: str, alternative_names: str, district: str, governorate: str
) -> dict[str, str]:
    """A place's key fields, by field name (``Place.fill_keys`` and the migration that
    filled them use this): its name, its other names (one a line), its area."""
    names = ([name], alternative_names.splitlines(), [district, governorate])
    return {field: keys_of(of) for field, of in zip(PLACE_KEY_FIELDS, names, strict=True)}


def _term_keys(term: str) -> list[str]:
    """The keys a term is looked for by: strict, loose, and while an article is being
    typed ("Maarat an"), the loose key without it."""
    key = search_key(term)
    if not key:
        return []
    keys = dict.fromkeys([key, loose_key(term)])
    words = key.split()
    if len(words) > 1 and (words[-1] in _ARTICLES or _SUN_ARTICLE.match(words[-1])):
        keys[loose_key(" ".join(words[:-1]))] = None
    return [k for k in keys if k]


def _any_key(fields: Iterable[str], keys: Iterable[str], shape: str = "{}") -> Q:
    found = Q()
    for field in fields:
        for key in keys:
            found |= Q(**{f"{field}__contains": shape.format(key)})
    return found


def place_name_q(term: str, *, areas: bool = False) -> Q | None:
    """Places whose name or another name matches ``term``, strictly or loosely; with
    ``areas``, also by district or governorate, or by every word of the term found in
    some field. None for a term with nothing to match."""
    keys = _term_keys(term)
    if not keys:
        return None
    if not areas:
        return _any_key(PLACE_NAME_FIELDS, keys)
    fields = (*PLACE_NAME_FIELDS, PLACE_AREA_FIELD)
    found = _any_key(fields, keys)
    words = search_key(term).split()[:MAX_PLACE_WORDS]
    if len(words) > 1:
        every_word = Q()
        for word in words:
            every_word &= _any_key(fields, _term_keys(word))
        found |= every_word
    return found


def place_rank(term: str) -> Case:
    """How well a place found by :func:`place_name_q` matches ``term``: 0 (its name is
    the term) to 6 (found by its district, governorate or scattered words)."""
    keys = _term_keys(term)
    tiers: list[When] = []
    for field in PLACE_NAME_FIELDS:
        for shape in ("|{}|", "|{}", "{}"):  # equal, beginning, anywhere
            tiers.append(When(_any_key([field], keys, shape), then=Value(len(tiers))))
    return Case(*tiers, default=Value(len(tiers)), output_field=IntegerField())


def search_places(queryset: QuerySet, term: str, *, ranked: bool = True) -> QuerySet:
    """``queryset`` of places narrowed to those matching ``term`` by any name or area;
    ``ranked``, best match first (:func:`place_rank`), then by name (its strict key, the
    same order on both databases). Unchanged for a term with nothing to match."""
    found = place_name_q(term, areas=True)
    if found is None:
        return queryset
    if not ranked:
        return queryset.filter(found)
    return (
        queryset.filter(found)
        .alias(search_rank=place_rank(term))
        .order_by("search_rank", "name_keys", "pk")
    )
