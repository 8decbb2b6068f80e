"""The compile check of issue 11 section 2: every MQL program x branch through g++.

    python -m mqlnative.check [--jobs 2] [--source-root DIR]

Each program in mql/Experts and mql/Scripts is translated (mqlnative.translate) and
type-checked with `g++ -fsyntax-only` against the language core and the terminal API headers
(documented MQL4/MQL5 signatures), once with -D__MQL4__ and once with -D__MQL5__. One line
per program and branch; the first compiler errors follow a FAIL. Exit status 1 on any FAIL.
What this proves and what it does not: docs/mql-linux.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mqlnative.build import BRANCHES, BuildResult, build
from mqlnative.translate import REPO

PROGRAM_DIRS = ("Experts", "Scripts")


def programs(source_root: Path = REPO) -> list[Path]:
    return [p for d in PROGRAM_DIRS for p in sorted((source_root / "mql" / d).glob("*.mql"))]


def first_errors(log: str, limit: int = 8) -> list[str]:
    lines = [line for line in log.splitlines() if "error" in line or line.startswith("translate:")]
    return lines[:limit]


def check(source_root: Path = REPO, *, jobs: int = 2, out_root: Path | None = None,
          only: list[tuple[Path, str]] | None = None) -> list[BuildResult]:
    """Syntax-check the given (program, branch) pairs, or all of them; results in that order."""
    pairs = only or [(p, b) for p in programs(source_root) for b in sorted(BRANCHES)]
    with tempfile.TemporaryDirectory(prefix="mqlcheck-") as scratch:
        def one(pair: tuple[Path, str]) -> BuildResult:
            program, branch = pair
            # a separate tree per pair: parallel checks never share translated files
            root = (out_root or Path(scratch)) / f"{program.stem}-{branch}"
            return build(program, branch, "syntax", out_root=root, source_root=source_root)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(one, pairs))


def line(result: BuildResult, source_root: Path = REPO) -> str:
    try:
        shown = result.program.resolve().relative_to(source_root.resolve()).as_posix()
    except ValueError:
        shown = str(result.program)
    return f"{'ok  ' if result.ok else 'FAIL'} {result.branch} {shown}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--source-root", type=Path, default=REPO, help="a tree holding mql/ (default: this repo)")
    args = parser.parse_args(argv)
    results = check(args.source_root, jobs=args.jobs)
    for r in results:
        print(line(r, args.source_root))
        if not r.ok:
            for err in first_errors(r.log):
                print("    " + err)
    failed = sum(1 for r in results if not r.ok)
    print(f"mql check: {len(results) - failed} of {len(results)} program x branch compile")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
