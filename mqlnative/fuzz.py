"""Differential fuzz: the MQL codec (translated MsgPack.mqh/Protocol.mqh, run natively) and
bridge.protocol decode the same frames and must agree (issue 11 section 3).

    python -m mqlnative.fuzz --frames 20000 --seed 1 [--branch mql5|mql4|both] [--sanitize]

For every frame, as the daemon -> terminal direction the EA receives: if either side accepts,
both must accept; the MQL builders' re-encode of the parsed message must equal
bridge.protocol.encode of Python's message (the canonical frame), and the MQL codec's
re-encode of the decoded tree must equal Python's canonical packing of the same tree.
Disagreements are failures unless they are in DOCUMENTED (docs/mql-linux.md). Refusal
reasons may differ (the EA only logs them); they are counted, not compared.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack

from bridge.protocol import ProtocolError, decode, encode
from bridge.protocol.codec import unpack_frame
from bridge.protocol.schema import Direction
from bridge.protocol.validate import Pairs
from mqlnative import fuzz_gen
from mqlnative.build import BRANCHES, MQL_BUILDS, SANITIZE_FLAGS, compiler
from mqlnative.translate import NATIVE_INCLUDE, REPO, translate_program

HARNESS = Path(__file__).resolve().parent / "fuzz_harness.cpp"
# a program whose includes bring MsgPack.mqh and Protocol.mqh into the translated tree
CODEC_PROGRAM = REPO / "mql" / "Scripts" / "MtBridgeSelfTest.mql"

# The decisions where the two sides may legitimately differ; each is in docs/mql-linux.md.
DOCUMENTED = {
    "unrepresentable": (
        "Both accept. The frame is valid protocol but a field cannot be held exactly by this "
        "platform's MQL types (a str with a NUL byte, also in welcome.quote_symbols: MQL strings end at NUL; magic < 0 on MT5, "
        "outside int32 on MT4). MtbInbound.unrepresentable names the field, the EA answers the "
        "command with retcode 10013 instead of executing it. The builders' re-encode is not "
        "compared (it cannot carry the value); the codec's exact re-encode still is."
    ),
}


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    message: Any = None              # Python only: the decoded message
    reason: str = ""                 # refusal code / message
    canonical: bytes | None = None   # the canonical frame of the parsed message
    codec: bytes | None = None       # the decoded tree re-encoded (input key order)
    unrepresentable: str = ""        # MQL only


@dataclass
class Report:
    branch: str
    frames: int = 0
    both_accept: int = 0
    both_refuse: int = 0
    documented: Counter = field(default_factory=Counter)
    reason_pairs: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "branch": self.branch, "frames": self.frames, "both_accept": self.both_accept,
            "both_refuse": self.both_refuse, "documented": dict(self.documented),
            "failures": len(self.failures),
        }


# ---- the Python side ----
def _plain(value: Any) -> Any:
    """Decoded tree -> values msgpack packs canonically like MpEncodeNode (-0.0 as +0.0)."""
    if isinstance(value, Pairs):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value == 0.0:
        return 0.0
    return value


def python_verdict(frame: bytes) -> Verdict:
    result = decode(frame, direction=Direction.TO_TERMINAL)
    if isinstance(result, ProtocolError):
        return Verdict(False, result.code)
    tree = unpack_frame(frame)
    codec = msgpack.packb(_plain(tree), use_bin_type=True, use_single_float=False)
    return Verdict(True, message=result, canonical=encode(result), codec=codec)


def cannot_hold(branch: str, message: Any, name: str) -> bool:
    """True when field `name` of a Python message has no exact MQL value on `branch`."""
    value = getattr(message, name, None)
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, tuple):  # welcome.quote_symbols
        return any(isinstance(v, str) and "\x00" in v for v in value)
    if name == "magic" and isinstance(value, int):
        return value < 0 if branch == "mql5" else not -(2**31) <= value < 2**31
    return False


# ---- the MQL side ----
def build_harness(branch: str, *, sanitize: bool = False, out_root: Path | None = None) -> Path:
    out = (out_root or REPO / "build" / "mqlnative") / branch / "fuzz"
    translated = translate_program(CODEC_PROGRAM, out / "src")
    exe = out / ("harness_asan" if sanitize else "harness")
    flags = ["-std=c++17", f"-D{BRANCHES[branch]}", f"-D__MQLBUILD__={MQL_BUILDS[branch]}", "-O1", "-g",
             f"-I{translated.include_dir}", f"-I{NATIVE_INCLUDE}", "-fdiagnostics-color=never"]
    if sanitize:
        flags += list(SANITIZE_FLAGS)
    proc = subprocess.run([compiler(), *flags, str(HARNESS), "-o", str(exe)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"fuzz harness ({branch}) does not compile:\n{proc.stderr[-6000:]}")
    return exe


def mql_verdicts(exe: Path, frames: list[bytes]) -> list[Verdict]:
    stdin = b"".join(struct.pack(">I", len(f)) + f for f in frames)
    proc = subprocess.run([str(exe)], input=stdin, capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"fuzz harness exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')[-6000:]}")
    out = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        word, _, rest = line.partition(" ")
        if word == "REFUSE":
            out.append(Verdict(False, rest))
        else:
            built, codec, unrep = rest.split(" ")
            out.append(Verdict(True, canonical=None if built == "-" else bytes.fromhex(built),
                               codec=None if codec == "-" else bytes.fromhex(codec),
                               unrepresentable="" if unrep == "-" else unrep))
    if len(out) != len(frames):
        raise RuntimeError(f"fuzz harness answered {len(out)} of {len(frames)} frames")
    return out


# ---- comparison ----
def compare(branch: str, frames: list[bytes], py: list[Verdict], mql: list[Verdict]) -> Report:
    report = Report(branch, frames=len(frames))
    for frame, p, m in zip(frames, py, mql):
        def fail(why: str) -> None:
            report.failures.append(f"{why}: frame {frame.hex()} python={p.reason or 'accept'} mql={m.reason or 'accept'}")

        if p.accepted and m.accepted:
            report.both_accept += 1
            if m.codec != p.codec:
                fail(f"codec re-encode differs (mql {m.codec.hex() if m.codec else '-'})")
            elif m.unrepresentable:
                if not cannot_hold(branch, p.message, m.unrepresentable):
                    fail(f"MQL calls field {m.unrepresentable!r} unrepresentable, but it holds an exact MQL value")
                report.documented["unrepresentable"] += 1
            elif m.canonical != p.canonical:
                fail(f"canonical re-encode differs (mql {m.canonical.hex() if m.canonical else '-'}, "
                     f"python {p.canonical.hex() if p.canonical else '-'})")
        elif not p.accepted and not m.accepted:
            report.both_refuse += 1
            report.reason_pairs[(p.reason, m.reason.split(":")[0].split(" ")[0])] += 1
        else:
            fail("one side accepts, the other refuses")
    return report


def run(frames_count: int, seed: int, branches: list[str], *, sanitize: bool = False,
        out_root: Path | None = None) -> list[Report]:
    rng = random.Random(seed)
    frames = fuzz_gen.frames(rng, frames_count)
    py = [python_verdict(f) for f in frames]
    reports = []
    for branch in branches:
        exe = build_harness(branch, sanitize=sanitize, out_root=out_root)
        reports.append(compare(branch, frames, py, mql_verdicts(exe, frames)))
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--branch", choices=[*sorted(BRANCHES), "both"], default="both")
    parser.add_argument("--sanitize", action="store_true")
    args = parser.parse_args(argv)
    branches = sorted(BRANCHES) if args.branch == "both" else [args.branch]
    started = time.monotonic()
    reports = run(args.frames, args.seed, branches, sanitize=args.sanitize)
    bad = 0
    for r in reports:
        print(json.dumps(r.summary()))
        for line in r.failures[:10]:
            print("  FAIL " + line)
        bad += len(r.failures)
    print(f"mql fuzz: {args.frames} frames x {len(reports)} branches, {bad} undocumented disagreements, "
          f"{time.monotonic() - started:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
