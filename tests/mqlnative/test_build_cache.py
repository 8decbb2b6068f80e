"""The runtime's objects are compiled once per compiler, flag set and source tree
(mqlnative.build.runtime_objects): a second build reuses them, any change of flags or source
builds new ones, and a failed compile leaves nothing a later build could take for an object."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mqlnative import build as b


@pytest.fixture()
def tiny_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which(b.compiler()) is None:
        pytest.fail("g++ is missing: run scripts/install-mql-toolchain.sh (make test does)")
    src = tmp_path / "runtime" / "one.cpp"
    src.parent.mkdir()
    src.write_text("int mqln_one() { return 1; }\n")
    monkeypatch.setattr(b, "runtime_sources", lambda: [src])
    return src


def test_objects_are_reused_until_the_flags_or_a_source_change(tmp_path: Path, tiny_runtime: Path) -> None:
    cache = tmp_path / "cache"
    first, log = b.runtime_objects(["-O0"], cache=cache)
    assert first is not None, log
    built = Path(first[0]).stat().st_mtime_ns
    again, _ = b.runtime_objects(["-O0", "-I/somewhere/else"], cache=cache)  # a program's own -I: same objects
    assert again == first and Path(again[0]).stat().st_mtime_ns == built
    other_flags, _ = b.runtime_objects(["-O1"], cache=cache)
    assert other_flags is not None and other_flags != first
    tiny_runtime.write_text("int mqln_one() { return 2; }\n")
    other_source, _ = b.runtime_objects(["-O0"], cache=cache)
    assert other_source is not None and other_source not in (first, other_flags)


def test_a_failed_compile_returns_the_log_and_leaves_no_object(tmp_path: Path, tiny_runtime: Path) -> None:
    tiny_runtime.write_text("int mqln_one( { return 1; }\n")
    cache = tmp_path / "cache"
    objects, log = b.runtime_objects(["-O0"], cache=cache)
    assert objects is None and "error" in log
    assert not [p for p in cache.rglob("*") if p.is_file()]
