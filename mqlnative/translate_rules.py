"""The translation rules applied to one MQL file (docs/mql-linux.md, "Translation rules").

Each rule reads the masked text (translate_lex.mask) and returns edits; positions map 1:1
to the original, and no rule adds or removes a newline, so g++ reports MQL line numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mqlnative.translate_lex import Edit, brace_depths, line_of, paren_depths, skip_balanced

BUILTIN_TYPES = frozenset(
    "bool char uchar short ushort int uint long ulong float double string datetime color void".split()
)
# identifiers that can precede an identifier without declaring it
NOT_TYPES = frozenset(
    "return else case goto delete new sizeof typename do throw const static virtual public private "
    "protected input sinput extern template class struct union enum operator".split()
)
# C++-only keywords MQL code may use as plain names (renamed in the project's sources)
CPP_ONLY_KEYWORDS = frozenset(
    "and or not xor bitand bitor compl and_eq or_eq xor_eq not_eq auto register export mutable "
    "namespace using volatile signed unsigned asm catch try noexcept nullptr decltype constexpr "
    "alignas alignof thread_local typeid char16_t char32_t wchar_t requires concept".split()
)
HANDLERS = (
    "OnInit", "OnDeinit", "OnStart", "OnTick", "OnTimer", "OnTrade", "OnTradeTransaction",
    "OnChartEvent", "OnTester", "OnTesterInit", "OnTesterDeinit", "OnTesterPass", "OnBookEvent",
    "OnCalculate",
)

IDENT = r"[A-Za-z_]\w*"
TYPE_DECL_RE = re.compile(rf"\b(?:class|struct|union|enum)\s+({IDENT})")
TYPEDEF_RE = re.compile(rf"\btypedef\b[^;]*?\b({IDENT})\s*;")
ALIAS_RE = re.compile(rf"^[ \t]*#[ \t]*define[ \t]+({IDENT})[ \t]+({IDENT})[ \t]*$", re.M)
ARRAY_RE = re.compile(
    rf"(?<![\w.>:])(?P<type>{IDENT})(?P<mid>\s*\*\s*&?\s*|\s*&\s*|\s+)(?P<name>{IDENT})\s*\[(?P<dim>[^\[\]]*)\]"
)
POINTER_DECL_RE = re.compile(rf"(?<![\w.>:])(?P<type>{IDENT})\s*\*\s*(?P<name>{IDENT})\s*(?=[;,)=\[])")
OBJECT_DECL_RE = re.compile(rf"(?<![\w.>:*])(?P<type>{IDENT})\s+&?\s*(?P<name>{IDENT})\s*(?=[;,)=\[])")
MEMBER_DOT_RE = re.compile(rf"(?<![\w])(?P<name>{IDENT})\s*\.(?=\s*[A-Za-z_])")
NEW_RE = re.compile(rf"\bnew\s+(?P<type>{IDENT})")
DELETE_RE = re.compile(r"\bdelete\s+(?P<expr>[^;]+);")
INPUT_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<kw>sinput|input)\s+(?P<rest>[^;]*);", re.M)
INPUT_PARTS_RE = re.compile(rf"^(?P<type>.+?)\s+(?P<name>{IDENT})\s*(?:=\s*(?P<value>.*?))?\s*$", re.S)
HANDLER_RE = re.compile(
    rf"^[ \t]*(?:int|void|double)\s+(?P<name>{'|'.join(HANDLERS)})\s*\([^;{{}}]*\)\s*(?:const\s*)?\{{", re.M
)
DIRECTIVE_RE = re.compile(r"^[ \t]*#[ \t]*(?P<word>\w+)(?P<rest>[^\n]*)$", re.M)


class TranslateError(Exception):
    """A construct the translator cannot map faithfully; the message names file:line."""


@dataclass
class Symbols:
    """Names collected over every file of one program before any file is rewritten."""

    types: set[str] = field(default_factory=lambda: set(BUILTIN_TYPES))
    object_types: set[str] = field(default_factory=set)   # classes and structs
    pointers: set[str] = field(default_factory=lambda: {"this"})
    objects: dict[str, str] = field(default_factory=dict)   # non-pointer class-typed name -> where


def collect_types(masked: str, symbols: Symbols) -> None:
    for m in TYPE_DECL_RE.finditer(masked):
        symbols.types.add(m.group(1))
        if not masked[m.start():m.start() + 4] == "enum":
            symbols.object_types.add(m.group(1))
    for m in TYPEDEF_RE.finditer(masked):
        symbols.types.add(m.group(1))
    for m in ALIAS_RE.finditer(masked):
        if m.group(2) in symbols.types:
            symbols.types.add(m.group(1))


def collect_names(masked: str, where: str, symbols: Symbols) -> None:
    for m in POINTER_DECL_RE.finditer(masked):
        if m.group("type") in symbols.object_types:
            symbols.pointers.add(m.group("name"))
    for m in OBJECT_DECL_RE.finditer(masked):
        if m.group("type") in symbols.object_types and m.group("name") not in symbols.object_types:
            symbols.objects.setdefault(m.group("name"), f"{where}:{line_of(masked, m.start())}")


def check_pointer_names(symbols: Symbols) -> None:
    """`p.x` becomes `p->x` by name: a name used for both a pointer and an object is refused."""
    both = sorted(set(symbols.objects) & symbols.pointers)
    if both:
        raise TranslateError(
            "names declared both as object pointer and as object (rename one): "
            + ", ".join(f"{n} (object at {symbols.objects[n]})" for n in both)
        )


@dataclass
class FileContext:
    rel: str            # path shown in #line and errors, e.g. mql/Include/MtBridge/Link.mqh
    masked: str
    blocked: list[tuple[int, int]]   # spans other rules must not touch (directives, inputs)

    def free(self, start: int, end: int) -> bool:
        return not any(s < end and start < e for s, e in self.blocked)

    def where(self, pos: int) -> str:
        return f"{self.rel}:{line_of(self.masked, pos)}"


def rule_inputs(ctx: FileContext, src: str) -> list[Edit]:
    edits = []
    for m in INPUT_RE.finditer(ctx.masked):
        start, end = m.start("kw"), m.end()
        rest_masked = m.group("rest").strip()
        if rest_masked.startswith("group"):
            edits.append(Edit(start, end, ""))
        else:
            parts = INPUT_PARTS_RE.match(rest_masked)
            if not parts:
                raise TranslateError(f"{ctx.where(start)}: cannot read the input declaration")
            offset = m.start("rest") + (len(m.group("rest")) - len(m.group("rest").lstrip()))
            type_text = parts.group("type").strip()
            value = "" if parts.group("value") is None else src[offset + parts.start("value"):offset + parts.end("value")]
            value = value.strip() or f"{type_text}()"
            edits.append(Edit(start, end, f"MQLN_INPUT({type_text}, {parts.group('name')}, {value});"))
        ctx.blocked.append((start, end))
    return edits


def rule_keywords(ctx: FileContext) -> list[Edit]:
    pattern = re.compile(r"\b(" + "|".join(sorted(CPP_ONLY_KEYWORDS)) + r")\b")
    return [Edit(m.start(), m.end(), "mqln_kw_" + m.group(1)) for m in pattern.finditer(ctx.masked)
            if ctx.free(m.start(), m.end())]


def rule_new_delete(ctx: FileContext) -> list[Edit]:
    edits = []
    for m in NEW_RE.finditer(ctx.masked):
        if not ctx.free(m.start(), m.end()):
            continue
        after = ctx.masked[m.end():].lstrip(" \t")
        call = "" if after.startswith("(") else "()"
        edits.append(Edit(m.start(), m.end(), f"mqln_new<{m.group('type')}>{call}"))
    for m in DELETE_RE.finditer(ctx.masked):
        if not ctx.free(m.start(), m.end()):
            continue
        edits.append(Edit(m.start(), m.start("expr"), "mqln_delete("))
        edits.append(Edit(m.end() - 1, m.end(), ");"))
    return edits


def rule_arrays(ctx: FileContext, symbols: Symbols) -> list[Edit]:
    masked = ctx.masked
    parens = paren_depths(masked)
    edits = []
    for m in ARRAY_RE.finditer(masked):
        type_name, mid, name, dim = m.group("type"), m.group("mid"), m.group("name"), m.group("dim").strip()
        if type_name in NOT_TYPES or not ctx.free(m.start(), m.end()):
            continue
        ptr, ref = "*" in mid, "&" in mid
        if (ptr or ref) and type_name not in symbols.types:
            continue   # `a * b[k]`, `a & b[k]`: an expression, not a declaration
        if masked[m.end():].lstrip().startswith("["):
            raise TranslateError(f"{ctx.where(m.start())}: multi-dimensional arrays are not supported")
        element = f"{type_name}*" if ptr else type_name
        in_params = parens[m.start()] > 0
        if in_params and not ref:
            raise TranslateError(f"{ctx.where(m.start())}: array parameter '{name}' must be passed by reference (MQL)")
        if in_params or not dim:
            decl = f"MqlArray<{element}> {'&' if ref else ''}{name}"
        else:
            decl = f"MqlFixedArray<{element}, ({dim})> {name}"
        edits.append(Edit(m.start(), m.end(), decl))
        if not in_params:
            edits.extend(continuation_declarators(ctx, m.end(), dynamic=not dim))
    return edits


def continuation_declarators(ctx: FileContext, k: int, dynamic: bool) -> list[Edit]:
    """`string a[],b[],c[];`: the later declarators share the MqlArray type."""
    masked, edits = ctx.masked, []
    decl = re.compile(rf"\s*,\s*(?P<name>{IDENT})\s*(?P<dims>\[[^\[\]]*\])?")
    while True:
        j = k
        while j < len(masked) and masked[j] in " \t":
            j += 1
        if j < len(masked) and masked[j] == "=":
            j += 1
            while j < len(masked) and masked[j] in " \t\n":
                j += 1
            if j < len(masked) and masked[j] == "{":
                j = skip_balanced(masked, j, "{", "}")
            else:
                while j < len(masked) and masked[j] not in ",;":
                    j += 1
        m = decl.match(masked, j)
        if not m:
            return edits
        dims = (m.group("dims") or "").strip("[] \t")
        if m.group("dims") is None or dims or not dynamic:
            raise TranslateError(f"{ctx.where(j)}: mixed array declarators; declare '{m.group('name')}' separately")
        edits.append(Edit(m.start("dims"), m.end("dims"), ""))
        k = m.end()


BY_VALUE_RE = re.compile(rf"(?<![\w.>:&*])(?P<type>{IDENT})\s+(?P<name>{IDENT})\s*(?=[,)=])")


def check_objects_by_reference(ctx: FileContext, symbols: Symbols) -> None:
    """MQL passes structs and class objects by reference only ("objects are passed by
    reference only"); C++ would copy them, so such a parameter is refused here."""
    parens = paren_depths(ctx.masked)
    for m in BY_VALUE_RE.finditer(ctx.masked):
        if (m.group("type") in symbols.object_types and parens[m.start()] > 0 and ctx.free(m.start(), m.end())
                and m.group("name") not in NOT_TYPES):
            raise TranslateError(
                f"{ctx.where(m.start())}: parameter '{m.group('name')}' of type {m.group('type')}: "
                "objects are passed by reference only (MQL)"
            )


def rule_pointers(ctx: FileContext, symbols: Symbols) -> list[Edit]:
    edits = []
    for m in MEMBER_DOT_RE.finditer(ctx.masked):
        if m.group("name") in symbols.pointers and ctx.free(m.start(), m.end()):
            edits.append(Edit(m.start(), m.end(), m.group("name") + "->"))
    return edits


def find_handlers(masked: str, conditions_at) -> list[tuple[str, str]]:
    """(handler, preprocessor condition) for each event handler defined at file scope."""
    braces = brace_depths(masked)
    found = []
    for m in HANDLER_RE.finditer(masked):
        if braces[m.start("name")] == 0:
            found.append((m.group("name"), conditions_at(m.start())))
    return found

