"""Sort and search of the desk's long tables (accounts, subscriptions), server-side so it works
without script: `?sort=COLUMN&dir=asc|desc&q=TEXT`.

Column keys are unique across the two tables, so one `sort` names the table it sorts; the other
keeps its default order (accounts by margin level, lowest first; subscriptions by number). `q`
filters both: a case-insensitive substring of the login, the owner (trader or investor id) or,
for a subscription, its trader. Bad values fall back to the default (a typed URL never errors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, TypeVar
from urllib.parse import urlencode

from bridge.monitor.state import Account, Subscription

T = TypeVar("T")
MAX_Q = 40
ASC, DESC = "asc", "desc"

# column key -> (header text, sort key); None sorts last in either direction
ACCOUNT_COLUMNS: dict[str, tuple[str, Callable[[Account], Any]]] = {
    "login": ("login", lambda a: a.login), "owner": ("owner", lambda a: (a.owner or a.role).lower()),
    "ccy": ("ccy", lambda a: a.currency or None), "balance": ("balance", lambda a: a.balance),
    "equity": ("equity", lambda a: a.equity), "margin": ("margin", lambda a: a.margin),
    "free": ("free", lambda a: a.free_margin), "level": ("margin level", lambda a: a.margin_level),
    "mcso": ("MC/SO %", lambda a: (a.margin_call_level, a.stop_out_level)),
    "status": ("status", lambda a: {"stop_out": 0, "margin_call": 1, "ok": 2}[a.status]),
    "terminal": ("terminal", lambda a: a.online),
}
SUB_COLUMNS: dict[str, tuple[str, Callable[[Subscription], Any]]] = {
    "sub": ("#", lambda s: s.subscription), "investor": ("investor", lambda s: s.investor.lower()),
    "trader": ("trader", lambda s: s.trader.lower()), "account": ("account", lambda s: s.account),
    "state": ("state", lambda s: s.state), "mode": ("mode", lambda s: s.mode),
    "protection": ("protection", lambda s: s.protection_pct), "invested": ("invested", lambda s: s.invested),
    "sub_equity": ("equity", lambda s: s.equity), "realised": ("realised", lambda s: s.realised),
    "open": ("open", lambda s: s.open_copies), "trades": ("trades", lambda s: s.trades),
}
ACCOUNT_DEFAULT, SUB_DEFAULT = "level", "sub"


@dataclass(frozen=True, slots=True)
class Listing:
    sort: str = ""  # a key of ACCOUNT_COLUMNS or SUB_COLUMNS; "" = the defaults
    dir: str = ASC
    q: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Listing:
        sort = params.get("sort", "")
        if sort not in ACCOUNT_COLUMNS and sort not in SUB_COLUMNS:
            sort = ""
        d = DESC if params.get("dir") == DESC else ASC
        q = " ".join(str(params.get("q", "")).split())[:MAX_Q]
        return cls(sort, d, q)

    def query(self, **change: str) -> str:
        """The URL query of this listing with `change` applied ('?sort=equity&dir=desc')."""
        fields = {"sort": self.sort, "dir": self.dir, "q": self.q, **change}
        if not fields["sort"]:
            fields.pop("dir")
        return "?" + urlencode({k: v for k, v in fields.items() if v})

    def matches(self, *texts: object) -> bool:
        if not self.q:
            return True
        needle = self.q.lower()
        return any(needle in str(t).lower() for t in texts if t is not None)


def _sorted(rows: Sequence[T], key: Callable[[T], Any], desc: bool) -> list[T]:
    """Stable sort; None (no margin level, no currency) last in both directions."""
    present = [r for r in rows if key(r) is not None]
    absent = [r for r in rows if key(r) is None]
    return sorted(present, key=key, reverse=desc) + absent


def list_accounts(accounts: Sequence[Account], lst: Listing) -> list[Account]:
    """`accounts` comes by risk (the default order); filtered by q, then sorted if asked."""
    rows = [a for a in accounts if lst.matches(a.login, a.owner, a.role)]
    if lst.sort in ACCOUNT_COLUMNS:
        rows = _sorted(rows, ACCOUNT_COLUMNS[lst.sort][1], lst.dir == DESC)
    return rows


def list_subscriptions(subs: Sequence[Subscription], lst: Listing) -> list[Subscription]:
    rows = [s for s in subs if lst.matches(s.account, s.investor, s.trader)]
    if lst.sort in SUB_COLUMNS:
        rows = _sorted(rows, SUB_COLUMNS[lst.sort][1], lst.dir == DESC)
    return rows


def header_html(columns: Mapping[str, tuple[str, Any]], lst: Listing, default: str) -> str:
    """<th> links that sort by the column; a second click reverses; aria-sort marks the order shown."""
    cells = []
    active = lst.sort if lst.sort in columns else default
    for key, (text, _) in columns.items():
        on = key == active
        desc = on and lst.sort == key and lst.dir == DESC
        nxt = ASC if desc or not on else DESC
        aria = f' aria-sort="{"descending" if desc else "ascending"}"' if on else ""
        mark = (" ▼" if desc else " ▲") if on else ""
        cells.append(f'<th data-col="{key}"{aria}><a href="{escape(lst.query(sort=key, dir=nxt))}">'
                     f"{escape(text)}{mark}</a></th>")
    return "".join(cells)


def search_form(lst: Listing) -> str:
    """GET form: keeps the sort, replaces q. Works without script."""
    keep = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">'
                   for k, v in (("sort", lst.sort), ("dir", lst.dir if lst.sort else "")) if v)
    clear = f' <a href="{escape(lst.query(q=""))}" id="desk-search-clear">clear</a>' if lst.q else ""
    return (f'<form method="get" action="/" class="filter" id="desk-search" role="search">{keep}'
            f'<label>search login, trader or owner <input type="search" name="q" value="{escape(lst.q)}" '
            f'size="14" maxlength="{MAX_Q}"></label> <button type="submit">search</button>{clear}</form>')


def count_note(shown: int, total: int, lst: Listing, what: str) -> str:
    if not lst.q:
        return ""
    return f'<p class="note match-count">{shown} of {total} {what} match “{escape(lst.q)}”</p>'
