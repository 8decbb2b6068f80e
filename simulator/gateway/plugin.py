"""`GatewayPlugin`: mtbridge as a plugin of the simulated trade server (issue 14, item 3).

The broker's side of copy trading: one plugin inside the trade server speaks the bridge
protocol to the daemon for many accounts over one connection per allow-list key, as a
manager gateway does. It

* **reports** the deals, positions and account figures of the accounts it serves (a trader's
  deals are the copy engine's signals; an investor's, the copies' fills, stop-outs and equity),
  reading them from the server when its hooks say an account changed;
* **executes** the daemon's `open` / `close` / `modify` on the accounts it serves as dealer
  actions: the investor needs no terminal, and the owner need not be signed in (seed 003
  §4.6, §14).

It is not a second implementation of the protocol: each connection is a `TerminalCore`
(`simulator.terminals.core`) whose account side is `DealerAccounts` (server reads + dealer
actions), wrapped in a `GatewayLink` that tells the core which accounts to scan. The shell is
the terminals' `TerminalClient` (pyzmq DEALER, CURVE, reconnect with backoff) carrying a
link instead of a core:

    gw = GatewayPlugin()
    server = TradeServer(plugins=[*default_plugins(), gw])   # the server loads it: on_load(api)
    ...                                                      # accounts opened
    gw.serve({"investor": investor_logins})
    client = TerminalClient(gw.links["investor"], endpoint, server_key=..., public_key=gw_key.public,
                            secret_key=gw_key.secret)

**Which accounts to scan.** A terminal scans every login it holds on each poll; the gateway
scans only the *due* ones: accounts a hook reported (a deal, a position opened, changed or
closed) since their last scan, and accounts holding positions (their equity moves with
every quote). After a (re)connect every account is due once (its `hello` resets what was
reported). Any other account cannot have anything to report, so a poll of the due accounts
sends exactly what a poll of all of them would, in the same order (login order): the daemon
cannot tell a gateway from an EA, and 10 000 idle investor accounts cost nothing per poll.
A hook only marks an account and returns no action; nothing is sent from inside a hook (the
server calls hooks in the middle of its own work), only from the shell's next poll. The
hooks used: `on_deal_perform` (trades, stop-outs, balance operations), `on_position_add /
_update / _delete` (an SL/TP change makes no deal). A leverage change alone (no hook) is
reported with the account's next change.

**Roles.** An allow-list key has one role, so the gateway opens one link per role it serves
(`trader`, `investor`); each login is served by one link, and the allow-list marks the
gateway's keys `gateway = true` so no EA key may claim them too (bridge/daemon/keys.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence

from bridge.protocol import Message
from simulator.gateway.accounts import DealerAccounts, dealer_session
from simulator.server.plugins import DealEvent, PositionEvent, ServerPlugin
from simulator.terminals.core import DEFAULT_HEARTBEAT_MS, StoredResult, TerminalCore
from simulator.terminals.quotes import QUOTE_EVERY_MS

ROLES = ("trader", "investor")


class GatewayLink:
    """One connection of the gateway: a `TerminalCore` (every protocol step is its own) and
    the set of its accounts due for a scan. Anything not overridden here is the core's, so
    a `TerminalClient` carries a link as it carries a core.

    `scan_all`: scan every account on each poll, as a terminal does (for a server that does
    not deliver the hooks; what is sent is the same either way)."""

    def __init__(self, core: TerminalCore, accounts: DealerAccounts, *, scan_all: bool = False) -> None:
        self.core = core
        self.accounts = accounts
        self.scan_all = scan_all
        self.served = frozenset(core.logins)
        self.dirty: set[int] = set(self.served)  # a new core has reported nothing yet
        self.holding: set[int] = set()  # accounts with open positions when last scanned
        self.scans = 0  # accounts scanned by polls (instrumentation: idle accounts are never scanned)

    def __getattr__(self, name: str):
        return getattr(self.core, name)

    def touch(self, login: int) -> None:
        if login in self.served:
            self.dirty.add(login)

    def due(self) -> list[int]:
        return sorted(self.served if self.scan_all else self.dirty | self.holding)

    def connect(self, now: int, mono: int | None = None) -> list[Message]:
        self.dirty |= self.served  # every hello resets the account figures reported
        return self.core.connect(now, mono)

    def poll(self, now: int, logins: Iterable[int] | None = None, mono: int | None = None) -> list[Message]:
        """The core's poll over the due accounts (or over `logins`, as a terminal's caller may ask)."""
        targets = self.due() if logins is None else sorted(set(logins) & self.served)
        out = self.core.poll(now, targets, mono)
        if self.core.connected:
            for login in targets:
                if self.core.welcomed(login):  # a login not welcomed yet stays due
                    self.scans += 1
                    self.dirty.discard(login)
                    if self.accounts.positions(login):
                        self.holding.add(login)
                    else:
                        self.holding.discard(login)
        return out


class GatewayPlugin(ServerPlugin):
    """The gateway: hooks in (which accounts changed), protocol links out (see module doc).

    Loaded on the server like any plugin (`on_load` hands it the `ServerAPI`); `serve(logins)`
    then opens one link per role: `logins` maps role -> the accounts served under that role's
    allow-list key (accounts may be opened after the server started, hence not at load).
    `timezone`: the server's zone for `hello.utc_offset_ms` (default: the server's own, read at load).
    `next_id`, `heartbeat_ms`, `account_update_ms`, `quote_every_ms`: as for `TerminalCore`."""

    name = "mtbridge-gateway"

    def __init__(self, timezone=None, *, next_id: int = 1, heartbeat_ms: int = DEFAULT_HEARTBEAT_MS,
                 account_update_ms: int = 1000, quote_every_ms: int = QUOTE_EVERY_MS,
                 scan_all: bool = False) -> None:
        self.timezone = timezone
        self.next_id = next_id
        self.scan_all = scan_all
        self._options = dict(heartbeat_ms=heartbeat_ms, account_update_ms=account_update_ms,
                             quote_every_ms=quote_every_ms)
        self.accounts: DealerAccounts | None = None
        self.links: dict[str, GatewayLink] = {}
        self._by_login: dict[int, GatewayLink] = {}

    def on_load(self, api) -> None:
        if self.timezone is None:
            # the server configuration's zone (MT5: IMTConCommon::TimeZone); ServerAPI has no
            # query for it, so it is read from the server the API belongs to
            self.timezone = getattr(api, "timezone", None) or api._server.timezone
        self.accounts = DealerAccounts(api, self.timezone)

    def serve(self, logins: Mapping[str, Sequence[int]],
              results: Mapping[str, MutableMapping[tuple[int, str], StoredResult]] | None = None) -> None:
        """Open a link per role for these accounts (`results`: per role, a persisted key table)."""
        if self.accounts is None:
            raise RuntimeError("the gateway serves accounts once the server loaded it (on_load)")
        unknown = sorted(set(logins) - set(ROLES))
        if unknown:
            raise ValueError(f"gateway roles must be {' or '.join(ROLES)}, got {', '.join(map(repr, unknown))}")
        seen: dict[int, str] = {}
        for role in logins:
            for login in logins[role]:
                if login in seen or login in self._by_login:
                    raise ValueError(f"login {login} is served twice (as {seen.get(login, 'already')} and as "
                                     f"{role}): a login is served by exactly one link")
                seen[login] = role
        results = results or {}
        for role, served in logins.items():
            if not served:
                continue
            if role in self.links:
                raise ValueError(f"the gateway already serves a {role} link")
            core = TerminalCore(self.accounts, [dealer_session(x) for x in served], next_id=self.next_id,
                                role=role, results=results.get(role), **self._options)
            link = self.links[role] = GatewayLink(core, self.accounts, scan_all=self.scan_all)
            for login in served:
                self._by_login[login] = link

    def restart(self, next_id: int) -> None:
        """The plugin reloaded (the server restarted it): new cores, rebuilt from the server's
        history as a restarted terminal rebuilds them; nothing executed before runs again."""
        logins = {role: sorted(link.served) for role, link in self.links.items()}
        self.links.clear()
        self._by_login.clear()
        self.next_id = next_id
        self.serve(logins)

    # ------------------------------------------------------------------ hooks (events in)
    def touch(self, login: int) -> None:
        """An account changed: scan it on the next poll (no-op for an account not served)."""
        link = self._by_login.get(login)
        if link is not None:
            link.touch(login)

    def on_deal_perform(self, event: DealEvent) -> None:
        self.touch(event.deal.login)  # trades, stop-outs, swaps' balance effects, balance operations

    def on_position_add(self, event: PositionEvent) -> None:
        self.touch(event.login)

    def on_position_update(self, event: PositionEvent) -> None:
        self.touch(event.login)  # an SL/TP change makes no deal

    def on_position_delete(self, event: PositionEvent) -> None:
        self.touch(event.login)

    # ------------------------------------------------------------------ instrumentation
    @property
    def logins(self) -> list[int]:
        return sorted(self._by_login)
