"""MQL source -> C++ source, mechanically, for the native Linux checks (docs/mql-linux.md).

    python -m mqlnative.translate mql/Experts/MtBridgeTrader.mql --out build/mqlnative/mql5

One translation serves both branches (g++ gets -D__MQL5__ or -D__MQL4__). A program and
every file it includes are written under `out`: the program as <Kind>/<Name>.cpp, includes
as Include/<path> (mql/Include first, then the standard-library stand-ins in
mqlnative/include, e.g. Trade/Trade.mqh). Lines are preserved and each file starts with a
#line directive, so compiler messages name the MQL file and line.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from mqlnative.translate_lex import Edit, apply_edits, line_of, mask
from mqlnative.translate_rules import (
    DIRECTIVE_RE,
    FileContext,
    Symbols,
    TranslateError,
    check_objects_by_reference,
    check_pointer_names,
    collect_names,
    collect_types,
    find_handlers,
    rule_arrays,
    rule_inputs,
    rule_keywords,
    rule_new_delete,
    rule_pointers,
)

REPO = Path(__file__).resolve().parents[1]
NATIVE_INCLUDE = Path(__file__).resolve().parent / "include"
INCLUDE_RE = re.compile(r'^\s*(?:<(?P<angle>[^>]+)>|"(?P<quote>[^"]+)")')
IMPORT_RE = re.compile(r'^\s*"(?P<lib>[^"]+)"')

__all__ = ["TranslateError", "Translated", "translate_program", "program_files"]


@dataclass(frozen=True)
class SourceFile:
    path: Path        # the MQL file on disk
    out_rel: str      # where its translation goes, relative to the output root
    shown: str        # the name in #line and error messages
    project: bool     # one of the project's sources (mql/), not a standard-library stand-in


@dataclass(frozen=True)
class Translated:
    cpp: Path                  # the program's C++ file
    include_dir: Path          # -I for the translated includes
    handlers: tuple[str, ...]  # handlers defined in some branch


def _shown(path: Path, repo: Path) -> str:
    try:
        return path.resolve().relative_to(repo).as_posix()
    except ValueError:
        return path.as_posix()


def _include_roots(repo: Path) -> list[tuple[Path, bool]]:
    return [(repo / "mql" / "Include", True), (NATIVE_INCLUDE, False)]


def resolve_include(target: str, angle: bool, including: Path, repo: Path) -> tuple[Path, str, bool] | None:
    """(file, path relative to Include/, project source?) of an #include, or None if absent."""
    candidates: list[tuple[Path, Path, bool]] = []
    if not angle:
        for root, project in _include_roots(repo):
            try:
                rel_dir = including.parent.resolve().relative_to(root.resolve())
            except ValueError:
                continue
            candidates.append((root, rel_dir / target, project))
    candidates += [(root, Path(target), project) for root, project in _include_roots(repo)]
    for root, rel, project in candidates:
        if (root / rel).is_file():
            return root / rel, rel.as_posix(), project
    return None


def program_files(program: Path, repo: Path = REPO) -> list[SourceFile]:
    """The program and every file it includes (both branches), program first."""
    program = program.resolve()
    kind = program.parent.name
    files = [SourceFile(program, f"{kind}/{program.stem}.cpp", _shown(program, repo), True)]
    seen = {program}
    k = 0
    while k < len(files):
        text = mask(files[k].path.read_text(encoding="utf-8"))
        for d in DIRECTIVE_RE.finditer(text):
            if d.group("word") != "include":
                continue
            raw = files[k].path.read_text(encoding="utf-8")[d.start("rest"):d.end("rest")]
            inc = INCLUDE_RE.match(raw)
            if not inc:
                continue
            found = resolve_include(inc.group("angle") or inc.group("quote"), bool(inc.group("angle")), files[k].path, repo)
            if found and found[0].resolve() not in seen:
                seen.add(found[0].resolve())
                files.append(SourceFile(found[0], f"Include/{found[1]}", _shown(found[0], repo), found[2]))
        k += 1
    return files


class _Conditions:
    """The #if stack at each directive, to guard handler markers like the handlers."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.marks: list[tuple[int, tuple[str, ...]]] = [(0, ())]

    def directive(self, pos: int, word: str, rest: str) -> None:
        rest = rest.strip()
        if word == "ifdef":
            self.stack.append(f"defined({rest})")
        elif word == "ifndef":
            self.stack.append(f"!defined({rest})")
        elif word == "if":
            self.stack.append(f"({rest})")
        elif word in ("else", "elif") and self.stack:
            top = self.stack.pop()
            self.stack.append(f"!{top}" + (f" && ({rest})" if word == "elif" else ""))
        elif word == "endif" and self.stack:
            self.stack.pop()
        self.marks.append((pos, tuple(self.stack)))

    def at(self, pos: int) -> str:
        current: tuple[str, ...] = ()
        for mark, stack in self.marks:
            if mark <= pos:
                current = stack
        return " && ".join(current) if current else "1"


def rule_directives(ctx: FileContext, src: str, file: SourceFile, repo: Path, conditions: _Conditions) -> list[Edit]:
    edits: list[Edit] = []
    import_ns: str | None = None
    for d in DIRECTIVE_RE.finditer(ctx.masked):
        word, start, end = d.group("word"), d.start(), d.end()
        rest = src[d.start("rest"):d.end("rest")]
        if word != "define":
            ctx.blocked.append((start, end))
        if word == "property":
            edits.append(Edit(start, end, ""))
        elif word == "include":
            inc = INCLUDE_RE.match(rest)
            if not inc:
                raise TranslateError(f"{ctx.where(start)}: unreadable #include")
            target = inc.group("angle") or inc.group("quote")
            found = resolve_include(target, bool(inc.group("angle")), file.path, repo)
            rel = found[1] if found else target
            edits.append(Edit(start, end, f'#include "{rel}"'))
        elif word == "import":
            lib = IMPORT_RE.match(rest)
            if lib:
                if import_ns:
                    raise TranslateError(f"{ctx.where(start)}: #import inside #import")
                import_ns = "mqlimport_" + re.sub(r"\W", "_", Path(lib.group("lib")).stem)
                edits.append(Edit(start, end, f"namespace {import_ns} {{"))
            else:
                if not import_ns:
                    raise TranslateError(f"{ctx.where(start)}: closing #import without an opening one")
                edits.append(Edit(start, end, f"}} using namespace {import_ns};"))
                import_ns = None
        elif word in ("if", "ifdef", "ifndef", "else", "elif", "endif"):
            conditions.directive(start, word, rest)
    if import_ns:
        raise TranslateError(f"{file.shown}: #import block not closed")
    return edits


def translate_file(file: SourceFile, symbols: Symbols, repo: Path, is_program: bool) -> tuple[str, list[tuple[str, str]]]:
    src = file.path.read_text(encoding="utf-8")
    ctx = FileContext(file.shown, mask(src), [])
    conditions = _Conditions()
    edits = rule_directives(ctx, src, file, repo, conditions)
    edits += rule_inputs(ctx, src)
    if file.project:
        edits += rule_keywords(ctx)
    edits += rule_new_delete(ctx)
    if file.project:
        check_objects_by_reference(ctx, symbols)
    edits += rule_arrays(ctx, symbols)
    edits += rule_pointers(ctx, symbols)
    body = apply_edits(src, edits)
    handlers = find_handlers(ctx.masked, conditions.at) if is_program else []
    head = '#include "mql/prelude.hpp"\n' if is_program else ""
    out = f'{head}#line 1 "{file.shown}"\n{body}'
    if is_program:
        out += f'\n#line {line_of(src, len(src)) + 1} "{file.shown} (generated)"\n'
        for name, cond in handlers:
            out += f"#if {cond}\n#define MQLN_HAS_{name} 1\n#endif\n"
        out += '#include "mql/entry.hpp"\n'
    return out, handlers


def translate_program(program: Path, out: Path, repo: Path = REPO) -> Translated:
    files = program_files(program, repo)
    symbols = Symbols()
    api_headers = sorted((NATIVE_INCLUDE / "mql").glob("api*.hpp"))
    for header in api_headers:
        collect_types(mask(header.read_text(encoding="utf-8")), symbols)
    masked = {f.path: mask(f.path.read_text(encoding="utf-8")) for f in files}
    for f in files:
        collect_types(masked[f.path], symbols)
    for f in files:
        collect_names(masked[f.path], f.shown, symbols)
    check_pointer_names(symbols)
    handlers: list[str] = []
    for k, f in enumerate(files):
        text, found = translate_file(f, symbols, repo, is_program=(k == 0))
        handlers += [name for name, _ in found]
        target = out / f.out_rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return Translated(out / files[0].out_rel, out / "Include", tuple(dict.fromkeys(handlers)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "mqlnative" / "translated")
    args = parser.parse_args(argv)
    try:
        result = translate_program(args.program, args.out)
    except TranslateError as exc:
        print(f"translate: {exc}", file=sys.stderr)
        return 1
    print(f"{result.cpp} (handlers: {', '.join(result.handlers) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
