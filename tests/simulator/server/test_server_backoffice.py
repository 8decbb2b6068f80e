"""Back office (seed 000): clients by e-mail, accounts, passwords, deposits, transfers."""

from decimal import Decimal as D

from srv_helpers import INVESTOR, MASTER, account, new_server, quote

from bridge.domain.errors import Refusal
from simulator.server import Session


def test_one_back_office_per_email():
    s = new_server()
    assert s.register_client("Ann@Example.com", "Ann").client_id == 1
    dup = s.register_client("ann@example.com ", "Someone")
    assert isinstance(dup, Refusal) and dup.code == "duplicate_email"


def test_unlimited_accounts_of_any_kind_validated_by_domain_rules():
    s = new_server()
    s.register_client("ann@example.com", "Ann")
    ok = {"master_password": MASTER, "investor_password": INVESTOR}
    logins = [s.open_account("ann@example.com", t, c, 500, demo=demo, **ok)
              for t, c, demo in [("mt4_standard_cent", "USC", False), ("mt5_pro", "EUR", True),
                                 ("mt5_raw_spread", "GBP", False), ("mt4_pro", "NGN", False)]]
    assert all(isinstance(x, int) for x in logins) and len(set(logins)) == 4
    assert s.client("ann@example.com").logins == tuple(logins)
    assert s.account_info(logins[1]).trade_mode == 0  # demo
    assert s.open_account("ann@example.com", "mt4_standard_cent", "USD", 500, **ok).code == "unknown_currency"
    assert s.open_account("ann@example.com", "mt5_gold", "USD", 500, **ok).code == "unknown_account_type"
    assert s.open_account("ann@example.com", "mt5_pro", "USD", 400, **ok).code == "invalid_leverage"
    assert s.open_account("nobody@example.com", "mt5_pro", "USD", 500, **ok).code == "unknown_client"


def test_password_policy_reports_every_problem_and_investor_is_read_only():
    s = new_server()
    s.register_client("ann@example.com", "Ann")
    bad = s.open_account("ann@example.com", "mt5_pro", "USD", 500, master_password="abc",
                         investor_password="ALLUPPERCASE!")
    assert bad.code == "password_policy"
    for code in ("password_length", "password_uppercase", "password_digit", "password_charset",
                 "password_lowercase"):
        assert code in bad.detail
    login = s.open_account("ann@example.com", "mt5_pro", "USD", 500, master_password=MASTER,
                           investor_password=INVESTOR)
    assert s.login(login, MASTER) == Session(login, False, 1)
    assert s.login(login, INVESTOR).read_only is True
    assert s.login(login, "Wrong123").code == "invalid_account"
    assert all(MASTER not in line and INVESTOR not in line for line in s.journal.lines())


def test_deposits_only_from_the_holder_and_withdrawals_keep_free_margin():
    s = new_server()
    login, sess = account(s, account_type="mt5_pro", deposit=None, leverage=100)
    assert s.deposit(login, D(1000), payer_email="mallory@example.com").code == "third_party_payment"
    assert s.deposit(login, D(1000), payer_email="ann@example.com", payer_name="Mallory").code == \
        "third_party_payment"
    assert s.deposit(login, D(-5), payer_email="ann@example.com").code == "invalid_amount"
    assert s.account_info(login).balance == D(0)
    assert s.deposit(login, D(1000), payer_email="ANN@example.com", payer_name="ann smith").profit == D(1000)
    quote(s, "1.00000")
    from srv_helpers import market
    market(s, sess, "buy", "0.50")  # Pro markup 4: notional 50 002 at 1:100 -> margin 500.02
    assert s.withdraw(login, D(500)).code == "insufficient_margin"  # free margin 1000-2-500.02 = 497.98
    assert s.withdraw(login, D("497.98")).profit == D("-497.98")
    assert s.account_info(login).margin_free == D("0.00")


def test_transfers_only_between_own_accounts_with_conversion():
    s = new_server(rates={"EURUSD": D("1.25")})
    usd, _ = account(s, account_type="mt5_pro", deposit="1000")
    eur, _ = account(s, account_type="mt5_pro", deposit=None, currency="EUR")
    bob, _ = account(s, email="bob@example.com", account_type="mt5_pro", deposit="1000")
    assert s.transfer(usd, bob, D(10)).code == "foreign_account"
    out, inn = s.transfer(usd, eur, D(100))
    assert (out.profit, inn.profit) == (D(-100), D("80.00"))
    assert s.account_info(usd).balance == D(900) and s.account_info(eur).balance == D("80.00")
    assert s.transfer(usd, eur, D(5000)).code == "insufficient_balance"
