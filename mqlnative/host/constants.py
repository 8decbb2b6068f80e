"""The MQL constants as the runtime's headers define them (one source: C1's api headers).

The runtime passes enum arguments as integers; the host models work with MQL names. So the
host reads the values from the same headers the EA is compiled against
(`mqlnative/include/mql/api_*.hpp`): `enum NAME { A = 1, B, ... };` blocks, `#define A 1`
and `const`/`constexpr` integer definitions, with simple integer expressions (`1 | 0x4000`,
`-1`, `A + 1`). `Constants.value(name)` and `Constants.reverse(candidates)` (value -> name
over a set of names that must not share a value) are all the dispatcher needs.

`check_against_simulator` compares every name both the headers and the simulator know (the
MetaTrader5 package values in `simulator.mt5.constants`) and lists disagreements: a wrong
value in a header would otherwise be invisible until a trade went the wrong way.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Iterable
from pathlib import Path

INCLUDE_DIR = Path(__file__).resolve().parent.parent / "include" / "mql"

_ENUM = re.compile(r"\benum\s+(?:class\s+)?(\w+)\s*(?::\s*[\w\s]+)?\{([^}]*)\}", re.S)
_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Z_][A-Z0-9_]*)\s+([^\n/]+)", re.M)
_CONST = re.compile(r"\b(?:static\s+)?(?:inline\s+)?(?:const|constexpr)\s+(?:unsigned\s+)?(?:int|long|uint|ulong|"
                    r"short|ushort|char|uchar|long\s+long|int64_t|uint64_t|int32_t|uint32_t)\s+([A-Z_][A-Z0-9_]*)\s*="
                    r"\s*([^;]+);")
_OPS = {ast.BitOr: operator.or_, ast.BitAnd: operator.and_, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
        ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.BitXor: operator.xor}


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _preprocess(text: str, defined: frozenset[str]) -> str:
    """Keep the lines of the branch: `#ifdef`/`#ifndef`/`#if [!]defined(X)`/`#if 0|1`/`#else`/
    `#elif`/`#endif` on the branch macro; any other condition counts as true (include guards)."""
    out, stack = [], []  # stack: (this group active, some earlier group of the chain taken)

    def cond(line: str) -> bool:
        m = re.match(r"#\s*(ifdef|ifndef)\s+(\w+)", line)
        if m:
            return (m.group(2) in defined) == (m.group(1) == "ifdef")
        m = re.match(r"#\s*(?:el)?if\s+(!?)\s*defined\s*\(?\s*(\w+)\s*\)?\s*$", line)
        if m:
            return (m.group(2) in defined) != bool(m.group(1))
        m = re.match(r"#\s*(?:el)?if\s+(\d+)\s*$", line)
        return bool(int(m.group(1))) if m else True

    for line in text.splitlines():
        t = line.strip()
        parent = all(a for a, _ in stack)
        if re.match(r"#\s*if", t):
            c = cond(t)
            stack.append((c, c))
        elif re.match(r"#\s*elif", t) and stack:
            _, taken = stack[-1]
            c = not taken and cond(t)
            stack[-1] = (c, taken or c)
        elif re.match(r"#\s*else", t) and stack:
            _, taken = stack[-1]
            stack[-1] = (not taken, True)
        elif re.match(r"#\s*endif", t) and stack:
            stack.pop()
        elif parent:
            out.append(line)
    return "\n".join(out)


def _eval(expr: str, names: dict[str, int]) -> int | None:
    expr = re.sub(r"(?<=[0-9a-fA-F])[uUlL]+\b", "", expr.strip())
    expr = re.sub(r"\(\s*(?:int|long|uint|ulong|unsigned)\s*\)", "", expr)
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None

    def ev(n):
        if isinstance(n, ast.Constant) and type(n.value) is int:
            return n.value
        if isinstance(n, ast.Name) and n.id in names:
            return names[n.id]
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.Invert)):
            v = ev(n.operand)
            return -v if isinstance(n.op, ast.USub) else ~v
        if isinstance(n, ast.BinOp) and type(n.op) in _OPS:
            return _OPS[type(n.op)](ev(n.left), ev(n.right))
        raise ValueError(expr)

    try:
        return ev(node)
    except (ValueError, TypeError):
        return None


class Constants:
    def __init__(self, values: dict[str, int], enums: dict[str, list[str]]) -> None:
        self.values = values
        self.enums = enums

    @classmethod
    def from_headers(cls, paths: Iterable[Path], defined: Iterable[str] = ()) -> Constants:
        """`defined`: the branch macro(s), e.g. {"__MQL5__"}."""
        values: dict[str, int] = {}
        enums: dict[str, list[str]] = {}
        macros = frozenset(defined)
        for path in paths:
            text = _preprocess(_strip_comments(Path(path).read_text(encoding="utf-8")), macros)
            for m in _DEFINE.finditer(text):
                v = _eval(m.group(2), values)
                if v is not None:
                    values.setdefault(m.group(1), v)
            for m in _CONST.finditer(text):
                v = _eval(m.group(2), values)
                if v is not None:
                    values.setdefault(m.group(1), v)
            for m in _ENUM.finditer(text):
                members, nxt = [], 0
                for item in m.group(2).split(","):
                    item = item.strip()
                    if not item:
                        continue
                    name, _, expr = item.partition("=")
                    name = name.strip()
                    if not re.fullmatch(r"[A-Za-z_]\w*", name):
                        continue
                    if expr:
                        v = _eval(expr, values)
                        if v is None:
                            continue
                        nxt = v
                    values.setdefault(name, nxt)
                    members.append(name)
                    nxt += 1
                enums[m.group(1)] = members
        return cls(values, enums)

    @classmethod
    def for_branch(cls, branch: str, include_dir: Path = INCLUDE_DIR) -> Constants:
        """The constants an EA of `branch` ("mql4"/"mql5") is compiled with."""
        names = ["api_common.hpp", "api_mql4.hpp" if branch == "mql4" else "api_mql5.hpp"]
        paths = [include_dir / n for n in names if (include_dir / n).exists()]
        paths += sorted(p for p in include_dir.glob("api_*.hpp") if p not in paths and branch in p.name)
        if not paths:
            raise FileNotFoundError(f"no MQL api headers in {include_dir}")
        return cls.from_headers(paths, {"__MQL4__" if branch == "mql4" else "__MQL5__"})

    def value(self, name: str) -> int | None:
        return self.values.get(name)

    def reverse(self, candidates: Iterable[str]) -> dict[int, str]:
        """value -> name over `candidates` known to the headers; raises if two share a value."""
        out: dict[int, str] = {}
        for name in candidates:
            v = self.values.get(name)
            if v is None:
                continue
            if v in out and out[v] != name:
                raise ValueError(f"{name} and {out[v]} have the same value {v}: the host cannot tell them apart")
            out[v] = name
        return out


def check_against_simulator(consts: Constants, prefixes: Iterable[str] = (
        "TRADE_RETCODE_", "TRADE_ACTION_", "ORDER_TYPE_", "ORDER_STATE_", "ORDER_FILLING_", "ORDER_TIME_",
        "DEAL_TYPE_", "DEAL_ENTRY_", "DEAL_REASON_", "POSITION_TYPE_", "POSITION_REASON_", "ORDER_REASON_",
        "ACCOUNT_MARGIN_MODE_", "ACCOUNT_TRADE_MODE_", "SYMBOL_FILLING_")) -> list[str]:
    from simulator.mt5 import constants as C
    problems = []
    for k, v in vars(C).items():
        if type(v) is int and any(k.startswith(p) for p in prefixes):
            hv = consts.value(k)
            if hv is not None and hv != v:
                problems.append(f"{k}: header {hv}, MetaTrader {v}")
    return problems
