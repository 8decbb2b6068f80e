"""Standard Cent accounts (issue 15 item 2): "Standard Cent accounts (balance in US cents) get
the conversions a broker expects, in sizing and in margin."

The wallet is USD; the cent account's ledger is in US cents (USC, 1 USD = 100 USC): investing
100 USD puts 10 000 USC on the account; sizing converts the trader's equity into USC
(proportional), the margin is the tier table's in USC; what returns to the wallet is USD.
"""

from __future__ import annotations

from decimal import Decimal as D

from bridge.copytrading import (BalanceOperation, CloseCopy, CommandFilled, CopyRefused, OpenCopy, StopCopying, Subscribe, SubscriptionStopped,
                                WalletDeposited)
from bridge.domain.sizing import VolumeMode
from tests.copytrading.helpers import World

ITEM_2 = "Standard Cent accounts (balance in US cents) get the conversions a broker expects, in sizing and in margin."


def cent(w: World, amount: str = "100", mode: VolumeMode = VolumeMode.PROPORTIONAL, account: int = 3000) -> int:
    w.handle(WalletDeposited(w.tick(), "C1", D(amount)))
    step = w.handle(Subscribe(w.tick(), "C1", "T", account, D(amount), mode=mode, leverage=100,
                              account_type="mt4_standard_cent", currency="USC"))
    (started,) = [r for r in step.records if type(r).__name__ == "SubscriptionStarted"]
    (invest,) = [c for c in step.commands if isinstance(c, BalanceOperation)]
    assert invest.amount == D(amount) * 100  # the account's currency
    return started.subscription


def test_a_cent_account_is_funded_in_cents_and_sized_in_cents():
    w = World()
    w.trader(equity="10000", leverage=100)
    sub = cent(w, "100")
    s = w.engine.subscriptions[sub]
    assert (s.currency, s.balance, s.invested) == ("USC", D("10000"), D("10000"))
    # §4.5.2 proportional: (10 000 USC = 100 USD) / 10 000 USD x 100/100 x 1 lot = 0.01 lots -
    # the trader's equity converted into US cents, as for any other currency
    _, step = w.open("1")
    (cmd,) = [c for c in step.commands if isinstance(c, OpenCopy)]
    assert cmd.volume == D("0.01")
    # the margin is the tier table's in USC: 0.01 lots EURUSD at 1.1 = 1 100 USD = 110 000 USC at 1:100
    assert w.engine._books[sub].total == D("1100.00")


def test_equity_short_of_margin_in_cents_is_refused_with_the_figures():
    w = World()
    w.trader(equity="10000")
    sub = cent(w, "10", mode=VolumeMode.EQUAL)  # 1 000 USC
    _, step = w.open("0.10")  # 0.10 lots: 11 000 USD notional, margin 110 USD = 11 000 USC
    (r,) = [r for r in step.records if isinstance(r, CopyRefused)]
    assert r.subscription == sub and r.code == "no_money"
    assert r.details == {"volume": "0.10", "equity": "1000", "margin": "11000.00"}


def test_what_returns_to_the_wallet_is_usd_and_the_ledger_balances():
    w = World()
    w.trader(equity="10000")
    sub = cent(w, "100", mode=VolumeMode.EQUAL)
    ticket, _ = w.open("0.01", price="1.10000")
    step = w.close(ticket, "0.01", price="1.10123", fill=False)
    (close,) = [c for c in step.commands if isinstance(c, CloseCopy)]
    # the server reports the closing deal's profit in the account's currency: +1.23 USD = +123 USC
    w.handle(CommandFilled(w.tick(), close.key, close.ticket, close.volume, D("1.10123"), D("123.00")))
    assert w.engine.subscriptions[sub].balance == D("10123.00")
    step = w.handle(StopCopying(w.tick(), sub, "C1"))
    (stopped,) = [r for r in w.records(SubscriptionStopped)]
    # USD back to the wallet; the trader's 20 % of the 123 USC gain (24.60 USC) is paid in whole
    # USD cents: 24 USC = 0.24 USD
    assert (stopped.returned, stopped.commission) == (D("100.99"), D("0.24"))
    assert w.engine.wallets.balance("C1") == D("100.99") and w.engine.wallets.balance("T") == D("0.24")
    sources, holdings = w.engine.ledger()
    assert sources == holdings
    assert step is not None
