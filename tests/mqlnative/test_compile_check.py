"""Issue 11 section 2: every MQL program x branch passes the g++ compile check, and the check
can fail: each mutation of the sources below is rejected, with the error at the mutated line."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from mqlnative.check import check, programs
from mqlnative.translate import program_files

ROOT = Path(__file__).resolve().parents[2]
BRANCHES = ("mql4", "mql5")


def test_every_program_compiles_on_both_branches(tmp_path: Path) -> None:
    results = check(ROOT, out_root=tmp_path)
    assert len(results) == 2 * len(programs(ROOT)) >= 6
    failed = [f"{r.branch} {r.program.name}:\n{r.log[:3000]}" for r in results if not r.ok]
    assert failed == [], "\n".join(failed)


@dataclass(frozen=True)
class Mutation:
    name: str
    pattern: str       # regex, first match in mql/ is mutated
    replacement: str   # same line count as the match (line numbers stay put)
    line_group: int = 0   # the error is expected on the line where this group starts


MUTATIONS = [
    Mutation("wrong argument count to a language built-in",
             r"StringToCharArray\(([^;\n]*?),CP_UTF8\)", r"StringToCharArray(\1,CP_UTF8,0)"),
    Mutation("wrong argument count to a terminal built-in",
             r"AccountInfoInteger\(ACCOUNT_LOGIN\)", "AccountInfoInteger(ACCOUNT_LOGIN,0)"),
    Mutation("wrong constant name (terminal)", r"\bACCOUNT_LOGIN\b", "ACCOUNT_LOGON"),
    Mutation("wrong constant name (language)", r"\bCP_UTF8\b", "CP_UTF_8"),
    Mutation("struct copy between two different struct types (review defect 1)",
             r"MpBits64 b;\n(\s*)b\.d=d;\n(\s*)return\(\(ulong\)b\.l\);",
             r"struct MpD { double d; }; struct MpL { long l; }; MpD db; MpL lb;\n\1db.d=d; lb=db;\n\2return((ulong)lb.l);"),
    Mutation("struct copy between two project struct types",
             r"env\.id=m\.id;", "env=m;"),
    Mutation("wrong field of a project struct", r"w\.UInt\(env\.seq\);", "w.UInt(env.sequence);"),
    Mutation("wrong field of a terminal struct (MqlTradeTransaction)",
             r"(const MqlTradeTransaction &(\w+)\)\s*\{[^}]*?\b\2\.)(\w+)", r"\1\3_typo", line_group=3),
    Mutation("misspelled method of a project class", r"w\.MapHeader\(", "w.MapHeadr("),
    Mutation("struct parameter passed by value", r"const MtbEnvelope &env", "const MtbEnvelope env"),
    Mutation("misspelled method of CTrade", r"\.PositionClosePartial\(", ".PositionClosePartail("),
]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], bool]:
    out = tmp_path_factory.mktemp("baseline")
    return {(r.program.name, r.branch): r.ok for r in check(ROOT, out_root=out)}


def _mutate(tree: Path, mutation: Mutation) -> tuple[Path, int]:
    """Apply the mutation to the first file of tree/mql that matches; (file, line of the match)."""
    for path in sorted((tree / "mql").rglob("*.mq*")):
        text = path.read_text(encoding="utf-8")
        match = re.search(mutation.pattern, text)
        if match:
            mutated = text[:match.start()] + match.expand(mutation.replacement) + text[match.end():]
            assert mutated.count("\n") == text.count("\n")
            path.write_text(mutated, encoding="utf-8")
            return path, text.count("\n", 0, match.start(mutation.line_group)) + 1
    raise AssertionError(f"{mutation.name}: pattern {mutation.pattern!r} no longer occurs in mql/")


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_check_rejects_the_mutation(mutation: Mutation, tmp_path: Path, baseline: dict) -> None:
    tree = tmp_path / "src"
    shutil.copytree(ROOT / "mql", tree / "mql")
    path, line = _mutate(tree, mutation)
    shown = path.relative_to(tree).as_posix()
    # per branch, the smallest program that includes the file and compiled before the mutation
    closures = {p: program_files(p, tree) for p in programs(tree)}
    pairs = []
    for branch in BRANCHES:
        candidates = [p for p, files in closures.items()
                      if baseline.get((p.name, branch)) and any(f.path == path.resolve() for f in files)]
        if candidates:
            pairs.append((min(candidates, key=lambda p: len(closures[p])), branch))
    assert pairs, f"no compiling program includes {shown}"
    results = check(tree, out_root=tmp_path / "out", only=pairs)
    rejected = [r for r in results if not r.ok]
    assert rejected, f"{mutation.name}: the check accepted {shown}:{line}"
    for r in rejected:
        assert f"{shown}:{line}:" in r.log, r.log[:2000]
