"""Shared fixtures of the native MQL tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def traders(tmp_path_factory) -> dict[str, tuple[Path, object]]:
    """The trader EA library and constants per platform, from the e2e run's build (cached by its inputs)."""
    from mqlnative.e2e import PLATFORMS, build_libraries

    if shutil.which("g++") is None:
        pytest.fail("g++ is missing: run scripts/install-mql-toolchain.sh (make test does)")
    libs, consts = build_libraries(tmp_path_factory.mktemp("eas"))
    return {platform: (libs[platform]["trader"], consts[branch]) for platform, branch in PLATFORMS}
