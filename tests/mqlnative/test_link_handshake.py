"""The EA names why the daemon never answers when the CURVE handshake fails (review §3.8).

libzmq retries a refused handshake on its own, so without a socket monitor the EA only ever
sees a silent daemon. The trader EA, built natively for both branches with real libzmq, is
started against a real daemon (1) with a key pair that is not in the allow-list and (2) with
the wrong server public key; its Experts log must say which, once per connection (libzmq
retries every 100 ms), and the daemon must have started no session.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.daemon.keys import generate_keypair
from mqlnative.host.e2e_sides import EaSide
from mqlnative.host.e2e_world import Market, Role

pytestmark = pytest.mark.integration

WAIT_S = 60.0  # generous for a loaded 2-core machine; every wait ends on a condition


async def _refused(tmp: Path, platform: str, lib: Path, consts, wrong: str) -> list[str]:
    m = Market(tmp, [Role("trader", platform, "trader")], seed=3, validity_ms=3000)
    if wrong == "client key":
        m.setup.keys["trader"] = generate_keypair()  # a pair the daemon's allow-list does not know
    else:
        m.setup.server = generate_keypair()  # the EA is told a public key the daemon does not hold
    branch = "mql4" if platform == "MT4" else "mql5"
    side = EaSide(m, {platform: {"trader": lib}}, {branch: consts}, tmp / "ea")
    try:
        await side.start("trader")
        log = side.eas["trader"].program.log
        await side.until(lambda: any("CURVE" in line and "handshake" in line.lower() or "CURVE key" in line
                                     for line in log), "the EA to name the handshake failure", WAIT_S)
        await side.until(lambda: sum("connecting to" in line for line in log) >= 2, "the EA to try again", WAIT_S)
        assert m.logins["trader"] not in m.sessions()
        return list(log)
    finally:
        await side.close()
        m.close()


@pytest.mark.parametrize("platform", ["MT4", "MT5"])
def test_a_key_not_in_the_allow_list_is_named(traders, tmp_path, platform):
    lib, consts = traders[platform]
    log = asyncio.run(_refused(tmp_path, platform, lib, consts, "client key"))
    named = [line for line in log if "refused this terminal's CURVE key" in line]
    assert named and "allow-list" in named[0], log[-10:]
    # once per connection, not once per libzmq retry (every 100 ms); a loaded daemon may answer
    # the first connection's handshake only after the EA gave up on it, so that one may have none
    starts = [i for i, line in enumerate(log) if "connecting to" in line] + [len(log)]
    per_connection = [sum("refused this terminal's CURVE key" in line for line in log[a:b])
                      for a, b in zip(starts, starts[1:])]
    assert max(per_connection) == 1, per_connection


@pytest.mark.parametrize("platform", ["MT4", "MT5"])
def test_a_wrong_server_key_is_named(traders, tmp_path, platform):
    lib, consts = traders[platform]
    log = asyncio.run(_refused(tmp_path, platform, lib, consts, "server key"))
    assert any("handshake" in line and "InpServerPublicKey" in line for line in log), log[-10:]
    assert not any("refused this terminal's CURVE key" in line for line in log)
