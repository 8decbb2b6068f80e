"""Reading MQL source in the static checks: code without comments or literals, function bodies."""

from __future__ import annotations

import re
from pathlib import Path

_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])\'', re.S)


def strip_code(text: str) -> str:
    """Source without comments, string and char literals (one left-to-right scan)."""

    def blank(m: re.Match) -> str:
        t = m.group(0)
        return '""' if t.startswith('"') else "''" if t.startswith("'") else " "

    return _TOKEN.sub(blank, text)


def code(path: Path) -> str:
    """A source file without comments or literals."""
    return strip_code(path.read_text(encoding="utf-8"))


def _balanced(text: str, i: int, what: str) -> int:
    """Index of the brace closing the one at `i`."""
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return j
    raise AssertionError(f"unbalanced body of {what}")


def body(text: str, signature: str) -> str:
    """The brace-balanced body (braces included) of the first definition starting with `signature`."""
    i = text.index("{", text.index(signature))
    return text[i : _balanced(text, i, signature) + 1]


def function_body(source: str, name: str) -> str:
    """The inside of the braces of the first function `name(...) {`."""
    start = re.search(rf"\b{name}\s*\([^)]*\)\s*\{{", source)
    assert start, name
    return source[start.end() : _balanced(source, start.end() - 1, name)]


_INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def with_parts(path: Path) -> str:
    """A source file followed by its parts: the files it includes from its folder whose names
    start with its own stem (Protocol.mqh -> ProtocolSchema.mqh, ...), recursively, each once."""
    seen: list[Path] = []

    def walk(p: Path) -> None:
        if p in seen:
            return
        seen.append(p)
        for name in _INCLUDE.findall(p.read_text(encoding="utf-8")):
            part = p.parent / name
            if part.name.startswith(path.stem) and part.is_file():
                walk(part)

    walk(path)
    return "\n".join(p.read_text(encoding="utf-8") for p in seen)
