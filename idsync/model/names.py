"""The known name a mistyped one most likely meant, for the "did you mean" of every layer's error messages
(configuration settings and attributes, expression functions, command-line and API names)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """One equal to ``name`` but for case first; else the closest spelling, compared as typed and then ignoring
    case; None when nothing is within ``cutoff`` (difflib's ratio)."""
    names = list(dict.fromkeys(known))
    folded = name.casefold()
    same = next((k for k in names if k.casefold() == folded), None)
    if same is not None:
        return same
    close = difflib.get_close_matches(name, names, n=1, cutoff=cutoff)
    if close:
        return close[0]
    by_fold = {k.casefold(): k for k in names}
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=cutoff)
    return by_fold[close[0]] if close else None
