"""Issue 11 section 3: differential fuzz of the MQL codec (native, ASan/UBSan) against
bridge.protocol, 20 000 frames per run on both branches; disagreements only as documented."""

from __future__ import annotations

import random
from pathlib import Path

from mqlnative import fuzz_gen
from mqlnative.fuzz import DOCUMENTED, Verdict, compare, python_verdict, run

FRAMES = 20_000


def test_mql_codec_agrees_with_bridge_protocol_on_20000_frames(tmp_path: Path) -> None:
    reports = run(FRAMES, seed=11, branches=["mql4", "mql5"], sanitize=True, out_root=tmp_path)
    for report in reports:
        assert report.frames == FRAMES
        assert report.failures == [], "\n".join(report.failures[:5])
        assert set(report.documented) <= set(DOCUMENTED)
        # the run reaches every outcome: agreement both ways and the documented decision
        assert report.both_accept > FRAMES // 5 and report.both_refuse > FRAMES // 5
        assert report.documented["unrepresentable"] > 0


def test_generator_is_seeded_and_starts_with_the_golden_vectors() -> None:
    a = fuzz_gen.frames(random.Random(5), 300)
    assert a == fuzz_gen.frames(random.Random(5), 300)
    assert a != fuzz_gen.frames(random.Random(6), 300)
    assert a[: len(fuzz_gen.golden_frames())] == fuzz_gen.golden_frames()


def _open_frame(magic: int, comment: str) -> bytes:
    msg = {"v": 1, "type": "open", "id": 1, "seq": 2, "ts": 3, "login": 4, "key": "k", "symbol": "EURUSD",
           "side": "buy", "volume": 0.1, "sl": 0.0, "tp": 0.0, "magic": magic, "comment": comment}
    return fuzz_gen.pack(msg, random.Random(0))


def test_compare_flags_acceptance_mismatch_and_unjustified_unrepresentable() -> None:
    frame = _open_frame(7, "plain")
    py = python_verdict(frame)
    assert py.accepted
    refused = compare("mql5", [frame], [py], [Verdict(False, "not_msgpack: x")])
    assert len(refused.failures) == 1
    wrongly_flagged = compare("mql5", [frame], [py], [Verdict(True, canonical=py.canonical, codec=py.codec,
                                                              unrepresentable="magic")])
    assert len(wrongly_flagged.failures) == 1
    different_bytes = compare("mql5", [frame], [py], [Verdict(True, canonical=b"\x80", codec=py.codec)])
    assert len(different_bytes.failures) == 1


def test_compare_accepts_documented_unrepresentable_values() -> None:
    for branch, frame, field in (("mql5", _open_frame(-1, "x"), "magic"), ("mql4", _open_frame(2**31, "x"), "magic"),
                                 ("mql5", _open_frame(5, "a\x00b"), "comment")):
        py = python_verdict(frame)
        report = compare(branch, [frame], [py], [Verdict(True, canonical=None, codec=py.codec, unrepresentable=field)])
        assert report.failures == [] and report.documented["unrepresentable"] == 1
