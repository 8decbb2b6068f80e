"""Lexical helpers of the MQL -> C++ translator: masking and bracket depths.

`mask` blanks the inside of comments, string and character literals (same length, newlines
kept), so the translator's patterns see only code and every position maps 1:1 to the
original text. Edits are (start, end, replacement) spans applied back to the original.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str


def mask(src: str) -> str:
    """Comments become spaces; literal contents become 'x' between their quotes."""
    out = list(src)
    k, n = 0, len(src)
    while k < n:
        c = src[k]
        if c == "/" and k + 1 < n and src[k + 1] == "/":
            while k < n and src[k] != "\n":
                out[k] = " "
                k += 1
        elif c == "/" and k + 1 < n and src[k + 1] == "*":
            end = src.find("*/", k + 2)
            end = n if end < 0 else end + 2
            for j in range(k, end):
                if src[j] != "\n":
                    out[j] = " "
            k = end
        elif c in "\"'":
            j = k + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            for m in range(k + 1, min(j, n)):
                out[m] = "x"
            k = j + 1
        else:
            k += 1
    return "".join(out)


def depths(masked: str, opening: str, closing: str) -> list[int]:
    """Nesting depth of `opening`/`closing` at each position (an opener's own position is outside)."""
    depth, out = 0, []
    for c in masked:
        if c == closing:
            depth = max(0, depth - 1)
        out.append(depth)
        if c == opening:
            depth += 1
    return out


def paren_depths(masked: str) -> list[int]:
    return depths(masked, "(", ")")


def brace_depths(masked: str) -> list[int]:
    return depths(masked, "{", "}")


def skip_balanced(masked: str, k: int, open_c: str, close_c: str) -> int:
    """Index just past the bracket group starting at masked[k] == open_c."""
    depth = 0
    n = len(masked)
    while k < n:
        if masked[k] == open_c:
            depth += 1
        elif masked[k] == close_c:
            depth -= 1
            if depth == 0:
                return k + 1
        k += 1
    return n


def apply_edits(src: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits; overlapping ones are a translator bug."""
    out, last = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < last:
            raise AssertionError(f"overlapping translator edits at {e.start}")
        out.append(src[last:e.start])
        out.append(e.text)
        last = e.end
    out.append(src[last:])
    return "".join(out)


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1
