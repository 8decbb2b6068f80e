"""`TradeServer`: back office (seed 000): clients, accounts, logins, balance operations, leverage."""

from __future__ import annotations

from decimal import Decimal

from bridge.domain.account import leverage_change_refusal
from bridge.domain.countries import SwapFreeCountries, country_code
from bridge.domain.errors import DomainError, Refusal
from bridge.domain.money import round_money
from simulator.server import retcodes as rc
from simulator.server.backoffice import check_password, hash_password, normalise_email, password_refusal
from simulator.server.plugins.api import AccountOpening, DealEvent, LoginEvent
from simulator.server.plugins.rules.swaps import Swaps
from simulator.server.records import ClientInfo, DealInfo, Session
from simulator.server.state import _Account, _Client, _deal_fields, _dec, ZERO


class AccountOps:
    """Back office (seed 000): clients, accounts, logins, balance operations, leverage.

    A part of `TradeServer` (see `simulator.server.server`); it uses the state and
    helpers the other parts define."""

    @property
    def swap_free_countries(self) -> SwapFreeCountries:
        """Seed 000 "swap-free accounts for clients from Muslim countries by default": the list
        of the loaded `Swaps` plugin (bridge/data/swap_free_countries.toml unless replaced);
        assign another to change it."""
        return self._swaps_plugin().countries

    @swap_free_countries.setter
    def swap_free_countries(self, countries: SwapFreeCountries) -> None:
        self._swaps_plugin().countries = countries

    def _swaps_plugin(self) -> Swaps:
        found = [p for p in self._plugins.plugins if isinstance(p, Swaps)]
        if not found:
            raise AttributeError("no Swaps plugin is loaded: swap-free defaults are not decided")
        return found[0]

    def register_client(self, email: str, name: str = "", country: str | None = None) -> ClientInfo | Refusal:
        """One back office per e-mail (case-insensitive); a second registration is refused.
        `country`: the client's country, ISO 3166-1 alpha-2 (decides the swap-free default)."""
        where = {} if country is None else {"country": str(country)}  # journal lines as before without one
        self._j("request", op="register_client", email=str(email), name=str(name), **where)
        e = normalise_email(email)
        if e is None:
            return self._bo_refuse("register_client", Refusal("invalid_email", f"{email!r} is not an e-mail"))
        if e in self._clients:
            return self._bo_refuse("register_client", Refusal("duplicate_email",
                                                              f"a back office already exists for {e}"))
        try:
            code = None if country is None else country_code(country)
        except DomainError as err:
            return self._bo_refuse("register_client", Refusal(err.code, err.detail))
        client = _Client(self._next_client, e, name, code)
        self._next_client += 1
        self._clients[e] = client
        self._j("client_registered", client_id=client.client_id, email=e, name=name,
                **({} if code is None else {"country": code}))
        self._j("answer", op="register_client", ok=True, client_id=client.client_id)
        return self._client_info(client)

    def client(self, email: str) -> ClientInfo | None:
        e = normalise_email(email)
        c = self._clients.get(e) if e else None
        return self._client_info(c) if c else None

    def _client_info(self, c: _Client) -> ClientInfo:
        return ClientInfo(c.client_id, c.email, c.name, tuple(c.logins), c.country)

    def _bo_refuse(self, op: str, refusal: Refusal) -> Refusal:
        self._j("answer", op=op, ok=False, code=refusal.code, detail=refusal.detail)
        return refusal

    def open_account(self, email: str, account_type: str, currency: str, leverage: int, *,
                     master_password: str, investor_password: str, demo: bool = False,
                     margin_mode: str | None = None, swap_free: bool | None = None,
                     name: str | None = None) -> int | Refusal:
        """Open a trading account for a registered client; returns its login.

        Validated against the domain rules: the type exists, `Rules.margin_for` accepts the
        currency, the leverage is in the type's list, the margin mode is offered (MT4: always
        hedging; MT5: the type's ``margin_modes``; default hedging), both passwords pass the
        seed-000 policy (all problems reported at once). `swap_free`: None (not asked) gives
        the default of the client's country (`swap_free_countries`); True / False wins."""
        self._j("request", op="open_account", email=str(email), account_type=str(account_type),
                currency=str(currency), leverage=leverage if type(leverage) is int else str(leverage),
                demo=bool(demo), margin_mode=margin_mode,
                swap_free=swap_free if swap_free is None or type(swap_free) is bool else str(swap_free))
        op = "open_account"
        e = normalise_email(email)
        client = self._clients.get(e) if e else None
        if client is None:
            return self._bo_refuse(op, Refusal("unknown_client", f"no back office for {email!r}; register first"))
        try:
            atype = self.rules.account_types.get(account_type)
            self._margin_model.account_margin(atype, currency, 1)  # the currency is served
        except DomainError as err:
            return self._bo_refuse(op, Refusal(err.code, err.detail))
        if type(leverage) is not int or leverage not in atype.leverages:
            offered = ", ".join(f"1:{x}" for x in atype.leverages)
            return self._bo_refuse(op, Refusal("invalid_leverage",
                                               f"1:{leverage} is not offered on {atype.title} ({offered})"))
        mode = margin_mode or "hedging"
        if atype.platform == "MT4" and mode != "hedging":
            return self._bo_refuse(op, Refusal("invalid_margin_mode", "MT4 accounts are always hedging"))
        if mode not in atype.margin_modes:
            return self._bo_refuse(op, Refusal("invalid_margin_mode",
                                               f"{mode!r} is not offered on {atype.title} "
                                               f"({', '.join(atype.margin_modes)})"))
        if swap_free is not None and type(swap_free) is not bool:
            return self._bo_refuse(op, Refusal("invalid_swap_free", f"swap_free {swap_free!r} must be true, "
                                                                     "false or not given (the country's default)"))
        bad = password_refusal(master_password, investor_password)
        if bad is not None:
            return self._bo_refuse(op, bad)
        if self._plugins.hook_user_add:
            decided = self._plugins.user_add(AccountOpening(e, client.country, atype.id, currency, leverage,
                                                            bool(demo), mode, swap_free))
            if isinstance(decided, Refusal):
                return self._bo_refuse(op, decided)
            swap_free = decided.swap_free
        login = self._next_login
        self._next_login += 1
        n = self._scrypt_n
        calc = self._margin_model.account_margin(atype, currency, leverage)
        acct = _Account(login, client, name if name is not None else client.name, atype, currency, leverage,
                        calc, self._margin_model.book(calc), bool(demo), mode == "netting",
                        bool(swap_free), hash_password(master_password, login, "master", n),
                        hash_password(investor_password, login, "investor", n))
        self._accounts[login] = acct
        client.logins.append(login)
        self._j("account_opened", login=login, client_id=client.client_id, account_type=atype.id,
                currency=currency, leverage=leverage, demo=bool(demo), margin_mode=mode,
                swap_free=bool(swap_free))
        self._j("answer", op=op, ok=True, login=login)
        return login

    def login(self, login: int, password: str) -> Session | Refusal:
        """Master password -> trading session; investor password -> read-only session."""
        acct = self._accounts.get(login)
        n = self._scrypt_n
        session: Session | Refusal
        if acct is not None and check_password(password, acct.master, login, "master", n):
            session = Session(login, False, self._next_session)
        elif acct is not None and check_password(password, acct.investor, login, "investor", n):
            session = Session(login, True, self._next_session)
        else:
            session = Refusal("invalid_account", f"login {login}: wrong login or password")
        if isinstance(session, Session):
            self._next_session += 1
            self._j("login", login=login, ok=True, read_only=session.read_only, session_id=session.session_id)
            if self._plugins.on_user_login:
                self._plugins.emit("on_user_login", LoginEvent(login, session.read_only, session.session_id))
                self._plugins.drain()
        else:
            self._j("login", login=login if type(login) is int else str(login), ok=False)
        return session

    def _balance_deal(self, acct: _Account, amount: Decimal, comment: str) -> DealInfo:
        acct.balance += amount
        deal = DealInfo(self._next_deal, acct.login, 0, self.clock.now_ms, rc.DEAL_TYPE_BALANCE, rc.DEAL_ENTRY_IN,
                        rc.DEAL_REASON_CLIENT, 0, "", ZERO, ZERO, ZERO, ZERO, amount, ZERO, 0, comment)
        self._next_deal += 1
        acct.hist_deals.append(deal)
        self._j("deal", **_deal_fields(deal), balance=acct.balance)
        if self._plugins.on_deal_perform:
            self._plugins.emit("on_deal_perform", DealEvent(deal, acct.balance))
        return deal

    def _amount(self, acct: _Account, amount: object) -> Decimal | Refusal:
        d = _dec(amount)
        if d is None or d <= 0:
            return Refusal("invalid_amount", f"amount {amount!r} must be a positive finite number")
        if d != round_money(d):
            return Refusal("invalid_amount", f"amount {d} has more than 2 decimals of {acct.currency}")
        return d

    def _money_request(self, op: str, login: int, amount: object) -> tuple[_Account, Decimal] | Refusal:
        """The shared start of a balance operation: a known account and a valid amount, or the
        refusal (already journaled as the answer)."""
        acct = self._accounts.get(login)
        if acct is None:
            return self._bo_refuse(op, Refusal("invalid_account", f"unknown login {login}"))
        d = self._amount(acct, amount)
        if isinstance(d, Refusal):
            return self._bo_refuse(op, d)
        return acct, d

    def deposit(self, login: int, amount: Decimal, *, payer_email: str,
                payer_name: str | None = None) -> DealInfo | Refusal:
        """Instant deposit in the account currency; only from the client's own e-mail (and
        name, when given): third-party deposits are refused."""
        op = "deposit"
        self._j("request", op=op, login=login, amount=str(amount), payer_email=str(payer_email),
                payer_name=payer_name)
        checked = self._money_request(op, login, amount)
        if isinstance(checked, Refusal):
            return checked
        acct, d = checked
        if normalise_email(payer_email) != acct.client.email or (
                payer_name is not None and acct.client.name
                and payer_name.strip().casefold() != acct.client.name.strip().casefold()):
            return self._bo_refuse(op, Refusal("third_party_payment",
                                               "deposits are accepted only from the account holder"))
        deal = self._balance_deal(acct, d, "deposit")
        self._refresh_risk(acct)
        self._j("answer", op=op, ok=True, deal=deal.ticket)
        self._plugins.drain()
        return deal

    def _withdrawal_refusal(self, acct: _Account, amount: Decimal) -> Refusal | None:
        if amount > acct.balance:
            return Refusal("insufficient_balance", f"{amount} > balance {acct.balance} {acct.currency}")
        equity, _ = self._equity(acct)
        free = equity - acct.book.total
        if free - amount < 0:
            return Refusal("insufficient_margin",
                           f"free margin {free} {acct.currency} would fall below 0 after withdrawing {amount}")
        return None

    def withdraw(self, login: int, amount: Decimal) -> DealInfo | Refusal:
        """Withdraw up to the balance, keeping free margin >= 0."""
        op = "withdraw"
        self._j("request", op=op, login=login, amount=str(amount))
        checked = self._money_request(op, login, amount)
        if isinstance(checked, Refusal):
            return checked
        acct, d = checked
        bad = self._withdrawal_refusal(acct, d)
        if bad:
            return self._bo_refuse(op, bad)
        deal = self._balance_deal(acct, -d, "withdrawal")
        self._refresh_risk(acct)
        self._j("answer", op=op, ok=True, deal=deal.ticket)
        self._plugins.drain()
        return deal

    def transfer(self, from_login: int, to_login: int, amount: Decimal) -> tuple[DealInfo, DealInfo] | Refusal:
        """Internal transfer between two accounts of the same client. `amount` is in the
        source currency; the credited amount is converted with `rates()` and rounded half up
        to the cent."""
        op = "transfer"
        self._j("request", op=op, from_login=from_login, to_login=to_login, amount=str(amount))
        src, dst = self._accounts.get(from_login), self._accounts.get(to_login)
        if src is None or dst is None:
            return self._bo_refuse(op, Refusal("invalid_account", "unknown login"))
        if src is dst:
            return self._bo_refuse(op, Refusal("invalid_transfer", "source and destination are the same account"))
        if src.client is not dst.client:
            return self._bo_refuse(op, Refusal("foreign_account",
                                               "transfers are allowed only between one client's own accounts"))
        d = self._amount(src, amount)
        if isinstance(d, Refusal):
            return self._bo_refuse(op, d)
        bad = self._withdrawal_refusal(src, d)
        if bad:
            return self._bo_refuse(op, bad)
        try:
            credited = round_money(self.rates().convert(d, src.currency, dst.currency))
        except DomainError as err:
            return self._bo_refuse(op, Refusal(err.code, err.detail))
        if credited <= 0:
            return self._bo_refuse(op, Refusal("invalid_amount", "converted amount rounds to zero"))
        out = self._balance_deal(src, -d, f"transfer to {to_login}")
        inn = self._balance_deal(dst, credited, f"transfer from {from_login}")
        self._refresh_risk(src)
        self._refresh_risk(dst)
        self._j("answer", op=op, ok=True, deals=[out.ticket, inn.ticket])
        self._plugins.drain()
        return out, inn

    def set_leverage(self, login: int, leverage: int) -> None | Refusal:
        """Change leverage via `leverage_change_refusal` (free with nothing open)."""
        op = "set_leverage"
        self._j("request", op=op, login=login, leverage=leverage if type(leverage) is int else str(leverage))
        acct = self._accounts.get(login)
        if acct is None:
            return self._bo_refuse(op, Refusal("invalid_account", f"unknown login {login}"))
        if type(leverage) is not int:
            return self._bo_refuse(op, Refusal("invalid_leverage", f"{leverage!r} is not an integer"))
        _, risks = self._equity(acct)
        bad = leverage_change_refusal(acct.type, acct.calc, acct.balance, risks, leverage, acct.credit)
        if bad is not None:
            return self._bo_refuse(op, bad)
        acct.leverage = leverage
        acct.calc = acct.calc.with_leverage(leverage)
        book = self._margin_model.book(acct.calc)
        for p in acct.positions.values():
            book.open(p.ticket, p.sym.spec.group, p.notional)
        acct.book = book
        self._j("leverage_changed", login=login, leverage=leverage, margin=book.total)
        self._refresh_risk(acct)
        self._j("answer", op=op, ok=True)
        self._plugins.drain()
        return None

    def _dealer_balance(self, login: int, amount: object, comment: str) -> DealInfo | Refusal:
        """A dealer's balance operation (`plugins.api.BalanceOperation`): a credit, or a debit
        that keeps the balance and the free margin >= 0 (a withdrawal's rule)."""
        op = "dealer_balance"
        self._j("request", op=op, login=login, amount=str(amount), comment=str(comment))
        acct = self._accounts.get(login)
        if acct is None:
            return self._bo_refuse(op, Refusal("invalid_account", f"unknown login {login}"))
        d = _dec(amount)
        if d is None or not d:
            return self._bo_refuse(op, Refusal("invalid_amount", f"amount {amount!r} must be a non-zero finite number"))
        checked = self._amount(acct, abs(d))
        if isinstance(checked, Refusal):
            return self._bo_refuse(op, checked)
        if d < 0:
            bad = self._withdrawal_refusal(acct, -d)
            if bad:
                return self._bo_refuse(op, bad)
        deal = self._balance_deal(acct, d, str(comment))
        self._refresh_risk(acct)
        self._j("answer", op=op, ok=True, deal=deal.ticket)
        return deal
