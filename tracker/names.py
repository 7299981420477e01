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
