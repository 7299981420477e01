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

from django.db.models import Exists, OuterRef, Q

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
#   4. doubled letters are collapsed (Hassan -> hasan), digits excepted (225 stays 225).
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


def loose_key(text: str) -> str:
    """Return the looser matching form, e.g. ``"al-Hassan"``, ``"Хасан"`` -> ``"hasan"``.

    Built on :func:`search_key`; see the notes above for what it folds and its limits."""
    key = search_key(text).translate(_CYRILLIC_TO_LATIN)
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
