"""The feed's account figures (docs/monitoring.md F5, F6): each login's `account.update` map, and
the margin-call and stop-out episodes (`account.margin_call`, `account.stop_out`). A mixin of
`FeedModel` (it reads the model's `terminals`, `last_account` and its daemon core)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.domain.errors import DomainError

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
STOP_OUT_EPISODE_GAP_MS = 60_000  # a `so` close this long after the last one starts a new episode


def level_text(level: Decimal) -> str:
    return str(level.quantize(CENT, ROUND_HALF_UP))


@dataclass(slots=True)
class TerminalInfo:
    """What the login's terminal told this daemon run (hello, account_update), and its status."""

    login: int
    online: bool = False
    role: str = ""  # the hello's role: trader | investor (password used)
    platform: str = ""
    since: int = 0  # last online / offline change
    why: str = ""  # offline reason
    account_type: str = ""
    currency: str = ""
    leverage: int = 0
    balance: Decimal | None = None
    equity: Decimal | None = None
    margin: Decimal | None = None  # None until the terminal's first account_update this run
    free_margin: Decimal | None = None


@dataclass(slots=True)
class StopOutEpisode:
    first: int
    last: int
    closes: int
    margin_level: str | None
    published: bool = False


class AccountsFeed:
    core: Any
    terminals: dict[int, TerminalInfo]
    last_account: dict[int, dict]
    in_margin_call: set[int]
    stop_outs: dict[int, StopOutEpisode]
    tallies: dict[str, int]
    stale_accounts: set[int]
    _levels: dict[str, tuple[Decimal, Decimal] | None]

    def levels(self, account_type: str) -> tuple[Decimal, Decimal] | None:
        if account_type in self._levels:
            return self._levels[account_type]
        try:
            t = self.core.engine.rules.account_types.get(account_type)
            out: tuple[Decimal, Decimal] | None = (t.margin_call_level, t.stop_out_level)
        except DomainError:
            out = None
        self._levels[account_type] = out
        return out

    def account(self, login: int) -> tuple[dict, Decimal | None]:
        """The F5 map of one login (without `ts`) and its exact margin level (None = no margin).

        Figures are the terminal's (hello, then account_update) when it reported them this
        run; otherwise the engine's: a trader's last balance / equity, an investor account's
        ledger balance + floating result. An investor account's margin, until its terminal
        sends an account_update, is the engine's margin book of the subscription (the tiered
        model of the copies it holds, copies in flight included); `estimated: true` marks such
        figures."""
        core = self.core
        engine = core.engine
        tid = core.trader_of.get(login)
        sid = core.sub_of_account.get(login)
        t = engine.traders.get(tid) if tid is not None else None
        sub = engine.subscriptions.get(sid) if sid is not None else None
        term = self.terminals.get(login)
        balance: Decimal | None = None
        equity: Decimal | None = None
        if t is not None:
            role, owner, atype, currency, leverage = "trader", t.id, t.account_type, t.currency, t.leverage
            balance, equity = t.balance, t.equity
        elif sub is not None:
            role, owner, atype, currency, leverage = "investor", sub.investor, sub.account_type, sub.currency, sub.leverage
            balance, equity = sub.balance, sub.equity
        else:
            role, owner, atype, currency, leverage = "other", "", "", "", 0
        estimated = False
        margin = free = None
        if term is not None:
            atype, currency = term.account_type or atype, term.currency or currency
            leverage = term.leverage or leverage
            if term.balance is not None:
                balance, equity = term.balance, term.equity
            margin, free = term.margin, term.free_margin
        if (term is None or term.balance is None) and balance is not None:
            estimated = True
        if margin is None and sub is not None:
            book = engine._books.get(sub.id)  # read-only: the engine's margin book of the subscription
            margin = book.total if book is not None else ZERO
            free = (equity or ZERO) - margin
            estimated = True
        body: dict[str, Any] = {"login": login, "role": role, "owner": owner, "account_type": atype,
                                "currency": currency, "leverage": leverage}
        level = None
        if balance is not None and equity is not None:
            body["balance"], body["equity"] = str(balance), str(equity)
        if margin is not None:
            body["margin"] = str(margin)
            body["free_margin"] = str(free if free is not None else (equity or ZERO) - margin)
            if margin > 0 and equity is not None:
                level = equity / margin * HUNDRED
                body["margin_level"] = level_text(level)
        lv = self.levels(atype) if atype else None
        if lv is not None:
            body["margin_call_level"], body["stop_out_level"] = str(lv[0]), str(lv[1])
        body["online"] = login in core.session_of
        if estimated:
            body["estimated"] = True
        return body, level

    def _stop_out_close(self, login: int, now: int) -> None:
        """A position closed by stop-out (`so`): it opens an episode, or counts in the current one."""
        ep = self.stop_outs.get(login)
        if ep is None or now - ep.last > STOP_OUT_EPISODE_GAP_MS:
            if ep is not None and not ep.published:  # counted once, whenever the flushes ran
                self._publish_stop_out(login, ep)
            last = self.last_account.get(login) or {}
            self.stop_outs[login] = StopOutEpisode(now, now, 1, last.get("margin_level"))
        else:
            ep.closes += 1
            ep.last = now

    def _flush_stop_outs(self, now: int) -> None:
        for login in sorted(self.stop_outs):
            ep = self.stop_outs[login]
            if not ep.published:
                self._publish_stop_out(login, ep)
            elif now - ep.last > STOP_OUT_EPISODE_GAP_MS:
                del self.stop_outs[login]

    def _flush_account(self, login: int, now: int) -> None:
        body, level = self.account(login)
        self.stale_accounts.discard(login)  # last_account is the snapshot's row: equal to body from here
        if self.last_account.get(login) == body:
            return
        self.last_account[login] = body
        self.core.publish("account.update", **body)
        mc = body.get("margin_call_level")
        if level is not None and mc is not None and level <= Decimal(mc):
            if login not in self.in_margin_call:
                self.in_margin_call.add(login)
                self.tallies["margin_calls"] = self.tallies.get("margin_calls", 0) + 1
                self.core.publish("account.margin_call", login=login, margin_level=body["margin_level"],
                                  margin_call_level=mc, equity=body["equity"], margin=body["margin"])
        else:
            self.in_margin_call.discard(login)

    def _end_stop_out_if_recovered(self, login: int) -> None:
        """Checked at each account report, in the order they came, not at the flush: so how the
        shell cut the reports into turns never splits or merges an episode (a sharded demo
        counts what one daemon counts)."""
        body, level = self.account(login)
        so = body.get("stop_out_level")
        if level is None or so is None or level > Decimal(so):  # back above its stop-out level
            ep = self.stop_outs.pop(login)
            if not ep.published:
                self._publish_stop_out(login, ep)

    def _publish_stop_out(self, login: int, ep: StopOutEpisode) -> None:
        ep.published = True
        atype = self.last_account.get(login, {}).get("account_type", "")
        lv = self.levels(atype) if atype else None
        self.tallies["stop_outs"] = self.tallies.get("stop_outs", 0) + 1
        self.core.publish("account.stop_out", login=login, margin_level=ep.margin_level,
                          stop_out_level=None if lv is None else str(lv[1]), closes=ep.closes)
