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
reported), and accounts whose figures differ from the last `account_update` sent for them
(a terminal coalesces account updates to one per `account_update_ms`: a change made within
that window is sent by a later poll, so the account stays due until it is). Any other
account cannot have anything to report, so a poll of the due accounts sends exactly what a
poll of all of them would, in the same order (login order): the daemon cannot tell a gateway
from an EA, and 10 000 idle investor accounts cost nothing per poll.
A hook only marks an account and returns no action; nothing is sent from inside a hook (the
server calls hooks in the middle of its own work), only from the shell's next poll. The
hooks used: `on_deal_perform` (trades, stop-outs, balance operations), `on_position_add /
_update / _delete` (an SL/TP change makes no deal), `on_user_update` (a leverage change in the
back office: no deal, no position change, yet the terminal's next poll reports it).

**Roles.** An allow-list key has one role, so the gateway opens one link per role it serves
(`trader`, `investor`); each login is served by one link, and the allow-list marks the
gateway's keys `gateway = true` so no EA key may claim them too (bridge/daemon/keys.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence

from bridge.protocol import AccountUpdate, Message
from simulator.gateway.accounts import DealerAccounts, dealer_session
from simulator.server.plugins import AccountState, DealEvent, PositionEvent, ServerPlugin
from simulator.terminals.core import DEFAULT_HEARTBEAT_MS, StoredResult, TerminalCore, wire_number
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
        self.reported: dict[int, tuple] = {}  # login -> figures of its last account_update on this connection
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
        self.reported.clear()
        return self.core.connect(now, mono)

    def poll(self, now: int, logins: Iterable[int] | None = None, mono: int | None = None) -> list[Message]:
        """The core's poll over the due accounts (or over `logins`, as a terminal's caller may ask)."""
        targets = self.due() if logins is None else sorted(set(logins) & self.served)
        out = self.core.poll(now, targets, mono)
        if self.core.connected:
            self._note_reported(out)
            for login in targets:
                if self.core.welcomed(login):  # a login not welcomed yet stays due
                    self.scans += 1
                    if self.accounts.positions(login):
                        self.holding.add(login)
                        self.dirty.discard(login)
                    else:
                        self.holding.discard(login)
                        if self.reported.get(login) == self._figures(login):
                            self.dirty.discard(login)  # else: a coalesced update is still to be sent
        return out

    def receive(self, message, now: int, mono: int | None = None) -> list[Message]:
        """The core's receive (a command is executed and its deal reported at once)."""
        out = self.core.receive(message, now, mono)
        self._note_reported(out)
        return out

    def _note_reported(self, out: list[Message]) -> None:
        for m in out:
            if isinstance(m, AccountUpdate):
                self.reported[m.login] = (m.balance, m.equity, m.margin, m.free_margin, m.leverage)

    def _figures(self, login: int) -> tuple:
        """The account's figures as an `account_update` carries them."""
        info = self.accounts.account_info(login)
        return (wire_number(info.balance), wire_number(info.equity), wire_number(info.margin),
                wire_number(info.margin_free), info.leverage)


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
            self.timezone = api.timezone  # the server configuration's (MT5: IMTConCommon::TimeZone)
        self.accounts = DealerAccounts(api, self.timezone)

    def serve(self, logins: Mapping[str, Sequence[int]],
              results: Mapping[str, MutableMapping[tuple[int, str], StoredResult]] | None = None) -> None:
        """Open a link per role for these accounts (`results`: per role, a persisted key table)."""
        if self.accounts is None:
            raise RuntimeError("the gateway serves accounts once the server loaded it (on_load)")
        unknown = sorted(set(logins) - set(ROLES))
        if unknown:
            raise ValueError(f"gateway roles must be {' or '.join(ROLES)}, got {', '.join(map(repr, unknown))}")
        # validate and build everything first, then apply: a refusal changes nothing
        seen: dict[int, str] = {}
        for role, served in logins.items():
            if served and role in self.links:
                raise ValueError(f"the gateway already serves a {role} link")
            for login in served:
                if login in seen or login in self._by_login:
                    raise ValueError(f"login {login} is served twice (as {seen.get(login, 'already')} and as "
                                     f"{role}): a login is served by exactly one link")
                seen[login] = role
        results = results or {}
        built: dict[str, GatewayLink] = {}
        for role, served in logins.items():
            if served:
                core = TerminalCore(self.accounts, [dealer_session(x) for x in served], next_id=self.next_id,
                                    role=role, results=results.get(role), **self._options)
                built[role] = GatewayLink(core, self.accounts, scan_all=self.scan_all)
        for role, link in built.items():
            self.links[role] = link
            for login in logins[role]:
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

    def on_user_update(self, account: AccountState) -> None:
        self.touch(account.login)  # a leverage change: no deal, but the account_update shows it

    # ------------------------------------------------------------------ instrumentation
    @property
    def logins(self) -> list[int]:
        return sorted(self._by_login)
