"""How triage reads letters: case-folded and accent-free, quotes straightened, so "Mañana", "manana"
and "MANANA" read the same to the date reader, the features and the crisis patterns alike."""

from __future__ import annotations

import unicodedata

__all__ = ["plain"]


def plain(text: str) -> str:
    """`text` case-folded and accent-free, with typographic apostrophes straightened."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).replace("’", "'")
