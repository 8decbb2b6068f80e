"""What `mtbridge simulate` writes besides its summary: the trade list (CSV, or `trades` in
`--json`) and an equity chart per account (SVG). Both deterministic: same scenario + seed =
same bytes.

* Trade list: every buy/sell deal of every account, in deal-ticket order (the server's time
  order), as MetaTrader's History tab lists deals: time (UTC), deal, position, symbol, type,
  entry (in/out), volume, price, profit, swap, commission, reason. Balance operations are
  not trades (they are the summary's deposits / withdrawals).
* Equity chart: the account's equity at the first quote of each simulated minute and at the
  end (the samples the summary's max drawdown is taken from), drawn by the dashboard's own
  chart code (`bridge.monitor.svg.line_chart`, one source) with its stylesheet rules for
  charts embedded, so the file stands alone. At most `MAX_CURVE_POINTS` points: when a
  curve is full every other point is dropped and the sampling step doubles, so a long run
  keeps its shape at a bounded size.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from simulator.server import retcodes as rc

MAX_CURVE_POINTS = 2000
CHART_WIDTH, CHART_HEIGHT = 720, 260

TRADE_COLUMNS = ("account", "login", "time", "deal", "position", "symbol", "type", "entry", "volume", "price",
                 "profit", "swap", "commission", "reason")
_ENTRY = {rc.DEAL_ENTRY_IN: "in", rc.DEAL_ENTRY_OUT: "out", rc.DEAL_ENTRY_INOUT: "inout",
          rc.DEAL_ENTRY_OUT_BY: "out_by"}
_REASON = {rc.DEAL_REASON_CLIENT: "client", rc.DEAL_REASON_EXPERT: "expert", rc.DEAL_REASON_SL: "sl",
           rc.DEAL_REASON_TP: "tp", rc.DEAL_REASON_SO: "so"}


@dataclass(frozen=True, slots=True)
class TradeRow:
    account: str
    login: int
    time_ms: int
    deal: int
    position: int
    symbol: str
    type: str  # buy | sell
    entry: str  # in | out | inout | out_by
    volume: Decimal
    price: Decimal
    profit: Decimal
    swap: Decimal
    commission: Decimal
    reason: str

    def to_json(self) -> dict:
        from simulator.clock import ms_to_datetime

        return {"account": self.account, "login": self.login, "time_ms": self.time_ms,
                "time": ms_to_datetime(self.time_ms).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                "deal": self.deal, "position": self.position, "symbol": self.symbol, "type": self.type,
                "entry": self.entry, "volume": str(self.volume), "price": str(self.price),
                "profit": str(self.profit), "swap": str(self.swap), "commission": str(self.commission),
                "reason": self.reason}


def trade_rows(account: str, login: int, deals) -> list[TradeRow]:
    """The buy/sell deals of one account (server `DealInfo`s), as trade rows."""
    return [TradeRow(account, login, d.time_msc, d.ticket, d.position_id, d.symbol,
                     "buy" if d.type == rc.DEAL_TYPE_BUY else "sell", _ENTRY.get(d.entry, str(d.entry)),
                     d.volume, d.price, d.profit, d.swap, d.commission, _REASON.get(d.reason, "other"))
            for d in deals if d.type in (rc.DEAL_TYPE_BUY, rc.DEAL_TYPE_SELL)]


def trades_csv(rows: list[TradeRow]) -> str:
    """The trade list as CSV (a header line, then one line per deal; `\\n` line ends)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TRADE_COLUMNS)
    for r in rows:
        j = r.to_json()
        w.writerow([j[c] for c in TRADE_COLUMNS])
    return buf.getvalue()


@dataclass(slots=True)
class EquityCurve:
    """(time ms, equity) samples, bounded: full at `cap` points, every other point goes and
    only every `stride`-th sample is kept from then on. 1 440 one-minute samples a day: a
    week (10 080) keeps every 8th minute, 1 260 points."""

    cap: int = MAX_CURVE_POINTS
    points: list[tuple[int, Decimal]] = field(default_factory=list)
    stride: int = 1
    seen: int = 0

    def see(self, time_ms: int, equity: Decimal) -> None:
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        self.points.append((time_ms, equity))
        if len(self.points) >= self.cap:
            self.points = self.points[::2]
            self.stride *= 2

    def with_end(self, time_ms: int, equity: Decimal) -> list[tuple[int, Decimal]]:
        """The curve with the final figure (always drawn, whatever the stride)."""
        if self.points and self.points[-1][0] == time_ms:
            return [*self.points[:-1], (time_ms, equity)]
        return [*self.points, (time_ms, equity)]


def _chart_css() -> str:
    from bridge.monitor.assets import CSS

    return "\n".join(line for line in CSS.splitlines() if line.startswith("svg"))


def equity_svg(title: str, curve: list[tuple[int, Decimal]]) -> str:
    """A standalone SVG file: the dashboard's equity chart with its chart styles inside (the
    currency is in the title)."""
    from bridge.monitor.svg import line_chart

    chart = line_chart(curve, title=title, width=CHART_WIDTH, height=CHART_HEIGHT)
    assert chart.startswith("<svg ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
            + chart[len("<svg "):].replace(">", f"><style>\n{_chart_css()}\n</style>", 1) + "\n")


def write_charts(directory: str | Path, charts: dict[str, str]) -> list[Path]:
    """`charts`: account id -> SVG text; writes DIR/<id>.svg (the directory is created)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for aid, svg in charts.items():
        p = out / f"{aid}.svg"
        p.write_text(svg, encoding="utf-8")
        paths.append(p)
    return paths
