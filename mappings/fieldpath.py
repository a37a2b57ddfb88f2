"""Field paths: how a mapping file points at a value inside a CMS record.

A mapping says *where* a value lives (``client.id``, ``meta.paging.next``) instead of code saying it,
so one engine can read every vendor. Paths run about ten times per record on syncs of 150,000
records, so the text is compiled once into a tuple of steps and :meth:`FieldPath.get` is a plain loop
with no parsing, no regular expressions and no exceptions on the happy path.

Syntax (``str(path)`` gives the text back unchanged):

``""``
    the root: the document itself.
``a.b.c``
    dotted keys. A key is made of letters, digits and ``_ $ @ -``.
``clients.0.id``
    an all-digit segment is a list index (on a JSON object it is looked up as the key ``"0"``).
``staff[lead_lawyer=true].id``
    a selector: the first element of the list ``staff`` whose ``lead_lawyer`` equals ``true``.
    Values compare as text (``5`` matches ``5`` and ``"5"``); ``true``/``false``/``null`` match the
    JSON literals. The value may hold anything except brackets. ``[key=value]`` with no name
    selects from the current value (a bare-array document).
``first_name + last_name``
    a join: each part is a path; the non-empty values are joined with one space, and the result is
    None when every part is empty. It exists because some vendors (MyCase) have no display-name
    field, only its pieces.

:meth:`FieldPath.get` never raises: a missing key, a wrong type or an index out of range gives None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias, cast

__all__ = ["FieldPath", "compile_path"]

# Step kinds. Small ints compare faster than strings or enum members in the hot loop.
_KEY: Final = 0
_INDEX: Final = 1
_SELECT: Final = 2

# (kind, key or index, selector key, selector value as text)
Step: TypeAlias = tuple[int, str | int, str, str]

_NAME_RE: Final = re.compile(r"[A-Za-z0-9_$@-]+")
_SEGMENT_RE: Final = re.compile(r"(?P<name>[A-Za-z0-9_$@-]*)\[(?P<key>[A-Za-z0-9_$@-]+)=(?P<value>[^\[\]]*)\]")


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A compiled path. Build one with :func:`compile_path`; the constructor does no checking."""

    text: str
    steps: tuple[Step, ...] = ()
    parts: tuple[FieldPath, ...] = ()
    # When every step is a plain key, the keys alone: get() then runs its tightest loop.
    key_chain: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return self.text

    @property
    def is_root(self) -> bool:
        """True for the empty path, which yields the document itself."""
        return not self.steps and not self.parts

    def get(self, doc: Any) -> Any:
        """The value at this path in ``doc``, or None when any step is missing or of the wrong type."""
        chain = self.key_chain
        if chain is not None:
            cur = doc
            for key in chain:
                if isinstance(cur, dict):
                    cur = cur.get(key)
                else:
                    return None
            return cur
        if self.parts:
            return self._join(doc)
        return self._walk(doc)

    def _walk(self, doc: Any) -> Any:
        cur = doc
        for kind, arg, sel_key, sel_value in self.steps:
            if kind == _KEY:
                if not isinstance(cur, dict):
                    return None
                cur = cur.get(arg)
            elif kind == _INDEX:
                if isinstance(cur, list):
                    index = cast(int, arg)  # compile_path stores an int for every index step
                    if index >= len(cur):
                        return None
                    cur = cur[index]
                elif isinstance(cur, dict):
                    cur = cur.get(str(arg))
                else:
                    return None
            else:
                if not isinstance(cur, list):
                    return None
                for element in cur:
                    if isinstance(element, dict) and _as_text(element.get(sel_key, _ABSENT)) == sel_value:
                        cur = element
                        break
                else:
                    return None
            if cur is None:
                return None
        return cur

    def _join(self, doc: Any) -> str | None:
        texts = []
        for part in self.parts:
            value = part.get(doc)
            if value is None:
                continue
            text = (_as_text(value) or "").strip()
            if text:
                texts.append(text)
        return " ".join(texts) if texts else None


class _Absent:
    """Marks a selector key the element does not have, so it never equals any selector value."""


_ABSENT: Final = _Absent()


def _as_text(value: Any) -> str | None:
    """A JSON value as the text a selector compares against; None for a missing key."""
    if value is _ABSENT:
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


def compile_path(text: str) -> FieldPath:
    """Compile ``text`` into a :class:`FieldPath`.

    Raises ValueError naming the offending segment, so a mapping error tells the admin what to fix.
    """
    if not isinstance(text, str):
        raise TypeError(f"a field path must be a string, not {type(text).__name__}")
    pieces = _split_outside_brackets(text, "+")
    if len(pieces) == 1:
        return _compile_single(text, text)
    parts = []
    for piece in pieces:
        stripped = piece.strip(" ")
        if not stripped:
            raise ValueError(f"field path {text!r}: each side of '+' must be a path")
        parts.append(_compile_single(stripped, text))
    return FieldPath(text=text, parts=tuple(parts))


def _compile_single(text: str, whole: str) -> FieldPath:
    if text == "":
        return FieldPath(text=text, steps=(), key_chain=())
    steps: list[Step] = []
    for position, segment in enumerate(_split_outside_brackets(text, "."), start=1):
        steps.extend(_compile_segment(segment, position, whole))
    chain: tuple[str, ...] | None = None
    if all(kind == _KEY for kind, _arg, _k, _v in steps):
        chain = tuple(str(arg) for _kind, arg, _k, _v in steps)
    return FieldPath(text=text, steps=tuple(steps), key_chain=chain)


def _compile_segment(segment: str, position: int, whole: str) -> list[Step]:
    if segment == "":
        raise ValueError(
            f"field path {whole!r}: segment {position} is empty (check for a leading, trailing or doubled '.')"
        )
    if _NAME_RE.fullmatch(segment):
        if segment.isdigit():
            return [(_INDEX, int(segment), "", "")]
        return [(_KEY, segment, "", "")]
    match = _SEGMENT_RE.fullmatch(segment)
    if match is None:
        raise ValueError(
            f"field path {whole!r}: segment {position} {segment!r} is not a key, a list index "
            "or a name[key=value] selector (keys use letters, digits and _ $ @ -)"
        )
    steps: list[Step] = []
    name = match["name"]
    if name:
        steps.append((_INDEX, int(name), "", "") if name.isdigit() else (_KEY, name, "", ""))
    steps.append((_SELECT, "", match["key"], match["value"]))
    return steps


def _split_outside_brackets(text: str, separator: str) -> list[str]:
    pieces: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == separator and depth == 0:
            pieces.append(text[start:index])
            start = index + 1
    pieces.append(text[start:])
    return pieces
