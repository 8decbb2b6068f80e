"""The `journal` fixture: each contract test runs on the SQLite and the PostgreSQL store."""

from __future__ import annotations

import pytest

from journalkit import Journal


@pytest.fixture(params=["sqlite", "postgres"])
def journal(request, tmp_path) -> Journal:  # noqa: ANN001
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else ""
    return Journal(request.param, tmp_path, url)
