"""How triage reads letters: case-folded and accent-free, quotes straightened, so "Mañana", "manana"
and "MANANA" read the same to the date reader, the features and the crisis patterns alike."""

from __future__ import annotations

import functools
import unicodedata

__all__ = ["plain"]


# A decision folds the same text three times (features, dates, crisis language): the last few are kept.
@functools.lru_cache(maxsize=8)
def plain(text: str) -> str:
    """`text` case-folded and accent-free, with typographic apostrophes straightened."""
    if text.isascii():
        return text.lower()  # nothing to compose, strip or straighten; ASCII case-folds as it lowers
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).replace("’", "'")
